"""Gazetteer: Kazakh and Russian forms, renamed cities and the regions of the 2022 reform."""

from __future__ import annotations

import pytest

from jobs.text.config import load_text_settings
from jobs.text.gazetteer import Gazetteer


@pytest.fixture(scope="module")
def gazetteer():
    return Gazetteer(load_text_settings())


@pytest.mark.parametrize(
    ("text", "city", "region"),
    [
        ("Алматы қаласы, Абай көшесі, 50 үй", "Алматы", "ALA"),
        ("Жолдар нашар в Алматы, помогите", "Алматы", "ALA"),
        ("В Нур-Султане не ходят автобусы", "Астана", "AST"),
        ("Астанадағы №24 мектептің асханасы", "Астана", "AST"),
        ("Пенсионерка из Семея заявила о халатности", "Семей", "ABA"),
        ("Семей қаласында жарық жоқ", "Семей", "ABA"),
        ("Дороги в Талдыкоргане разбиты", "Талдыкорган", "ZHT"),
        ("Шахты Жезказгана", "Жезказган", "ULY"),
        ("Трасса у Капчагая", "Конаев", "ALM"),
        ("В Шымкенте подписали меморандумы", "Шымкент", "SHY"),
        ("Өскемен қаласында ауа ластанған", "Усть-Каменогорск", "VOS"),
        ("Almaty qalasynda jol naşar", "Алматы", "ALA"),
    ],
)
def test_city_and_current_region(gazetteer, text, city, region):
    place = gazetteer.locate(text)
    assert place is not None
    assert place.city == city
    assert place.region_code == region


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("Загрязнение воздуха в Атырауской области", "ATY"),
        ("Атырау облысындағы ауаның ластануы", "ATY"),
        ("Семь человек погибли на трассе в Алматинской области", "ALM"),
        ("Шығыс Қазақстан облысы", "VOS"),
        ("В области Абай открыли школу", "ABA"),
        ("Улытауская область", "ULY"),
        ("Жетісу облысы", "ZHT"),
    ],
)
def test_region_phrase(gazetteer, text, region):
    place = gazetteer.locate(text)
    assert place is not None
    assert place.city is None
    assert place.region_code == region


@pytest.mark.parametrize(
    "text",
    [
        "Я многодетная мать, пособие для семей не приходит.",
        "Қоғамдық көліктерде кондиционерлерді қоспайды.",
        "'Оралман' мәртебесін алу процесі өте ұзаққа созылады.",
    ],
)
def test_no_place_in_common_words(gazetteer, text):
    assert gazetteer.locate(text) is None


def test_region_names_after_reform(gazetteer):
    assert gazetteer.region_name("ABA") == "область Абай"
    assert gazetteer.region_name("ZHT", "kk") == "Жетісу облысы"
