"""Language identification, Kazakh normalisation and the suffix tokeniser."""

from __future__ import annotations

import pytest

from jobs.text.langid import LanguageIdentifier, kazakh_letter_share
from jobs.text.normalise import latin_to_cyrillic, normalise, split_suffixes, tokenise

KAZAKH = [
    "Алматы қаласындағы жолдар өте нашар жағдайда, жөндеу жұмыстарын жүргізуіңізді сұраймыз.",
    "Мектептің асханасында тамақ сапасы төмендеп кетті, тексеріс жүргізуіңізді өтінемін.",
    "Қоқыс жәшіктері үнемі толып тұрады, айналаға жағымсыз иіс тарап жатыр.",
    "Аулада жарық жанбайды, балалар кешке шығуға қорқады.",
    "Автобус кестеге сай жүрмейді, жұмысқа үнемі кешігеміз.",
    "Емханаға жазылу мүмкін емес, телефондар жауап бермейді.",
]
RUSSIAN = [
    "В городе Алматы дороги во дворе в ужасном состоянии, просим провести ремонт.",
    "В столовой школы ухудшилось качество питания, прошу провести проверку.",
    "Мусорные контейнеры постоянно переполнены, распространяется неприятный запах.",
    "Во дворе не горит свет, дети боятся выходить вечером.",
    "Автобус ходит не по расписанию, постоянно опаздываем на работу.",
    "Невозможно записаться в поликлинику, телефоны не отвечают.",
]


@pytest.fixture(scope="module")
def identifier():
    return LanguageIdentifier().fit(KAZAKH, RUSSIAN)


def test_language_id_kazakh(identifier):
    assert identifier.predict_one("Біздің ауладағы жолдар өте нашар, жөндеу керек.") == "kk"


def test_language_id_russian(identifier):
    assert identifier.predict_one("В нашем дворе очень плохие дороги, нужен ремонт.") == "ru"


def test_language_id_mixed(identifier):
    text = "Біздің ауладағы жарық жанбайды. А КСК ничего не делает уже месяц."
    assert identifier.predict_one(text) == "mixed"


def test_kazakh_letter_share():
    assert kazakh_letter_share("әкө") == pytest.approx(2 / 3)
    assert kazakh_letter_share("дорога") == 0.0
    assert kazakh_letter_share("123") == 0.0


@pytest.mark.parametrize(
    ("latin", "cyrillic"),
    [
        ("Almaty qalasy", "Алматы қаласы"),
        ("Şymkent", "Шымкент"),
        ("Ūlytau", "Ұлытау"),
        ("Jetısu", "Жетісу"),
        ("Öskemen", "Өскемен"),
        ("QAZAQSTAN", "ҚАЗАҚСТАН"),
        ("Būryñğy", "Бұрыңғы"),
        ("Ağaş üi", "Ағаш үй"),
        ("syi berıp", "сый беріп"),
        ("Äke men bala", "Әке мен бала"),
        ("Iskerlık", "Іскерлік"),
    ],
)
def test_latin_to_cyrillic(latin, cyrillic):
    assert latin_to_cyrillic(latin) == cyrillic


def test_normalise_converts_latin_kazakh_text():
    assert normalise("Bız Almaty qalasynda tūramyz") == "Біз Алматы қаласында тұрамыз"


def test_normalise_keeps_english_words():
    assert normalise("Boeing and egov портал") == "Boeing and egov портал"


def test_normalise_replaces_schwa_lookalike():
    assert normalise("əке") == "әке"


def test_normalise_rejects_unknown_mode():
    with pytest.raises(ValueError, match="latin must be"):
        normalise("text", latin="some")


def test_split_suffixes_keeps_place_stem():
    assert split_suffixes("Астанадағы") == ("астана", ["дағы"])
    assert split_suffixes("мектептердің") == ("мектеп", ["тер", "дің"])
    assert split_suffixes("Алматы") == ("алматы", [])


def test_tokenise_kazakh_and_russian():
    assert tokenise("Алматы қаласындағы жолдар", "kk") == [
        "алматы", "қала", "+сы", "+ндағы", "жол", "+дар",
    ]  # fmt: skip
    assert tokenise("В Алматы дороги", "ru") == ["в", "алматы", "дороги"]
