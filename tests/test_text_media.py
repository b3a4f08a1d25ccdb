"""Relative dates, threat lexicons and the emerging-term test on a constructed burst."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from jobs.text.emerging import detect_emerging, extract_terms, poisson_p_value
from jobs.text.media import RelativeDateError, lexicon_label, resolve_date

CRAWL = dt.date(2025, 12, 4)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Сегодня", dt.date(2025, 12, 4)),
        ("Вчера", dt.date(2025, 12, 3)),
        ("позавчера", dt.date(2025, 12, 2)),
        ("Бүгін", dt.date(2025, 12, 4)),
        ("Кеше", dt.date(2025, 12, 3)),
        ("3 дня назад", dt.date(2025, 12, 1)),
        ("5 часов назад", dt.date(2025, 12, 4)),
        ("01 декабря 2025", dt.date(2025, 12, 1)),
        ("21 ноября 2025", dt.date(2025, 11, 21)),
        ("26 июня", dt.date(2025, 6, 26)),
        ("25 декабря", dt.date(2024, 12, 25)),
        ("13 желтоқсан 2025", dt.date(2025, 12, 13)),
        ("04.06.2025", dt.date(2025, 6, 4)),
        ("2025-12-13", dt.date(2025, 12, 13)),
    ],
)
def test_resolve_date(raw, expected):
    assert resolve_date(raw, CRAWL) == expected


@pytest.mark.parametrize("raw", ["Завтра утром", "32 декабря 2025", "01 брумера 2025"])
def test_resolve_date_rejects(raw):
    with pytest.raises(RelativeDateError):
        resolve_date(raw, CRAWL)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Семь человек погибли в страшном ДТП на трассе", "road_accidents"),
        ("Крупный пожар в Алматы: огонь охватил магазин", "fires_emergencies"),
        ("Многомиллиардную аферу по продаже квартир раскрыли", "fraud"),
        ("Интернет-алаяқтар зейнеткерді алдады", "fraud"),
        ("Масштабная утечка: счета клиентов попали в сеть", "cyber"),
        ("Есірткі сатқан күдікті ұсталды", "drugs"),
        ("Аким попался на взятке", "corruption"),
        ("Оксфордский словарь выбрал слово года", None),
    ],
)
def test_lexicon_label(text, label):
    assert lexicon_label(text) == label


def test_extract_terms_joins_case_forms():
    assert "мошенн" in extract_terms("Мошенники украли деньги", with_pairs=False)
    assert "мошенн" in extract_terms("Задержан мошенник", with_pairs=False)
    assert "алаякта" not in extract_terms("алаяқтар", with_pairs=False)
    assert "алаяк" in extract_terms("алаяқтар", with_pairs=False)


def test_poisson_p_value_hand_computed():
    # P(X >= 2) for X ~ Poisson(1) = 1 - e^-1 - e^-1 = 0.26424...
    assert poisson_p_value(2, 1.0) == pytest.approx(0.2642411, rel=1e-6)
    assert poisson_p_value(0, 1.0) == pytest.approx(1.0)


def constructed_series() -> dict[str, Counter]:
    """Ten weeks of 40 documents; "дипфейк" appears twice a week, then 12 times in week 10."""
    weeks = {}
    for index in range(10):
        week = f"2025-W{index + 1:02d}"
        counts = Counter({"дтп": 10 + index % 3, "пожар": 5, "дипфейк": 2})
        counts.update({f"word{n}": 1 for n in range(40)})
        weeks[week] = counts
    weeks["2025-W10"]["дипфейк"] = 12
    return weeks


def test_emerging_finds_known_burst():
    found = detect_emerging(constructed_series(), history_weeks=8, alpha=0.01, min_count=3)
    assert [(item.term, item.week) for item in found] == [("дипфейк", "2025-W10")]
    # expected = (8 weeks * 2 + 0.5) / 8
    assert found[0].expected == pytest.approx(2.0625)
    assert found[0].count == 12


def test_emerging_quiet_without_burst():
    series = constructed_series()
    series["2025-W10"]["дипфейк"] = 3
    assert detect_emerging(series, history_weeks=8, alpha=0.01, min_count=3) == []
