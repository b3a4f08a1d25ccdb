"""Kazakh text normalisation: the 2021 Latin alphabet to Cyrillic, letter folding, tokens.

The 2021 Kazakh Latin alphabet writes one letter per sound with diacritics
(ä ğ ı i ñ ö q ş ū u ü y ç), so the conversion is a letter-by-letter table.
"""

from __future__ import annotations

import re
import unicodedata

# Kazakh Latin alphabet of 2021 -> Cyrillic. "I ı" is ы and "İ i" is і; "U u" is ұ, "Ū ū" is у.
LATIN_2021_TO_CYRILLIC: dict[str, str] = {
    "a": "а", "ä": "ә", "b": "б", "d": "д", "e": "е", "f": "ф", "g": "г", "ğ": "ғ",
    "h": "х", "ı": "ы", "i": "і", "j": "ж", "k": "к", "l": "л", "m": "м", "n": "н",
    "ñ": "ң", "o": "о", "ö": "ө", "p": "п", "q": "қ", "r": "р", "s": "с", "ş": "ш",
    "t": "т", "u": "ұ", "ū": "у", "ü": "ү", "v": "в", "y": "й", "z": "з", "ç": "ч",
    "c": "ц", "w": "у", "x": "х",
}  # fmt: skip
UPPER_LATIN_2021 = {"I": "Ы", "İ": "І"}

# Letters that only a Kazakh Latin text of 2021 uses; a word with one of them is converted.
LATIN_2021_MARKERS = frozenset("äğıñöqşūüçİ")

KAZAKH_LETTERS = frozenset("әғқңөұүһі")

# Folding of Kazakh letters to their closest Russian letters, for matching names across languages.
KAZAKH_FOLD = str.maketrans("әғқңөұүһіӘҒҚҢӨҰҮҺІ", "агкноуухиАГКНОУУХИ")

# Look-alike characters typed in place of Kazakh letters (schwa, Latin i, Cyrillic i).
LOOKALIKES = str.maketrans({"ə": "ә", "Ə": "Ә", "ѳ": "ө", "Ѳ": "Ө", "ҕ": "ғ", "һ": "һ"})

WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*|\d+")

# Kazakh suffixes, tried longest first; stripping stops at MIN_STEM letters. Short endings that
# also end common stems (-на, -ны, -ты) are left out, so "Астана" and "Алматы" stay whole.
KAZAKH_SUFFIXES: tuple[str, ...] = tuple(
    sorted(
        {
            # plural
            "лар", "лер", "дар", "дер", "тар", "тер",
            # possessive
            "ымыз", "іміз", "мыз", "міз", "ыңыз", "іңіз", "ңыз", "ңіз", "сы", "сі", "ым", "ім",
            "ың", "ің",
            # case endings
            "ның", "нің", "дың", "дің", "тың", "тің", "ға", "ге", "қа", "ке",
            "ды", "ді", "да", "де", "та", "те", "нда", "нде",
            "дан", "ден", "тан", "тен", "нан", "нен", "мен", "бен", "пен",
            # derivation
            "дағы", "дегі", "тағы", "тегі", "ндағы", "ндегі", "лық", "лік", "дық", "дік",
            "тық", "тік", "шы", "ші", "сыз", "сіз",
        },
        key=len,
        reverse=True,
    )
)  # fmt: skip
MIN_STEM = 3


def latin_to_cyrillic(text: str) -> str:
    """Convert text in the 2021 Kazakh Latin alphabet to Cyrillic, keeping the letter case."""
    out = []
    for char in text:
        if char in UPPER_LATIN_2021:
            out.append(UPPER_LATIN_2021[char])
            continue
        lower = char.lower()
        target = LATIN_2021_TO_CYRILLIC.get(lower)
        if target is None:
            out.append(char)
        elif char != lower:
            out.append(target.upper())
        else:
            out.append(target)
    return "".join(out)


def is_latin_2021_word(word: str) -> bool:
    """Tell whether ``word`` is written in the 2021 Kazakh Latin alphabet."""
    return any(char in LATIN_2021_MARKERS for char in word) and not re.search(r"[а-яё]", word, re.I)


def normalise(text: str, latin: str = "auto") -> str:
    """Normalise Kazakh and Russian text: NFC, look-alike letters, Latin Kazakh to Cyrillic.

    ``latin`` is ``"auto"`` (convert only words with a 2021-alphabet letter such as ş or q),
    ``"all"`` (convert every Latin letter) or ``"keep"``.
    """
    if latin not in ("auto", "all", "keep"):
        raise ValueError(f"latin must be auto, all or keep, got {latin!r}")
    text = unicodedata.normalize("NFC", text).translate(LOOKALIKES)
    if latin == "all":
        return latin_to_cyrillic(text)
    if latin == "auto":
        text = WORD.sub(
            lambda m: latin_to_cyrillic(m.group()) if is_latin_2021_word(m.group()) else m.group(),
            text,
        )
    return text


def fold_kazakh(text: str) -> str:
    """Lower-case text and fold Kazakh letters to Russian ones (қ -> к, ө -> о, і -> и)."""
    return text.lower().replace("ё", "е").translate(KAZAKH_FOLD)


def words(text: str) -> list[str]:
    """Split text into words (letters with inner hyphens or apostrophes) and numbers."""
    return WORD.findall(text)


def split_suffixes(word: str) -> tuple[str, list[str]]:
    """Split a Kazakh word into a stem and its suffixes by longest match from the end."""
    stem = word.lower()
    suffixes: list[str] = []
    changed = True
    while changed:
        changed = False
        for suffix in KAZAKH_SUFFIXES:
            if stem.endswith(suffix) and len(stem) - len(suffix) >= MIN_STEM:
                stem = stem[: -len(suffix)]
                suffixes.insert(0, suffix)
                changed = True
                break
    return stem, suffixes


def tokenise(text: str, language: str = "kk") -> list[str]:
    """Tokenise normalised text; Kazakh words become the stem followed by ``+suffix`` tokens."""
    tokens: list[str] = []
    for word in words(normalise(text)):
        if language == "kk" and not word.isdigit():
            stem, suffixes = split_suffixes(word)
            tokens.append(stem)
            tokens.extend("+" + suffix for suffix in suffixes)
        else:
            tokens.append(word.lower())
    return tokens
