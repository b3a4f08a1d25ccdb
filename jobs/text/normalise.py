"""Kazakh text normalisation: the 2021 Latin alphabet to Cyrillic, letter folding, tokens.

The Kazakh Latin alphabet of January 2021 writes one letter per sound with diacritics, so the
conversion is a letter table. The letters are ä ә, ğ ғ, ı і, i й/и, ñ ң, ö ө, q қ, ş ш, ū ұ,
ü ү, u у, y ы, as in the Wikipedia article "Kazakh alphabets" ("Бұрыңғы" is "Būryñğy").
"""

from __future__ import annotations

import re
import unicodedata

LATIN_2021_TO_CYRILLIC: dict[str, str] = {
    "a": "а", "ä": "ә", "b": "б", "d": "д", "e": "е", "f": "ф", "g": "г", "ğ": "ғ",
    "h": "х", "ı": "і", "j": "ж", "k": "к", "l": "л", "m": "м", "n": "н",
    "ñ": "ң", "o": "о", "ö": "ө", "p": "п", "q": "қ", "r": "р", "s": "с", "ş": "ш",
    "t": "т", "u": "у", "ū": "ұ", "ü": "ү", "v": "в", "y": "ы", "z": "з",
    # NOTE: ç, c, w and x are not in the 2021 table; they map to the Russian letters that
    # loanwords use.
    "ç": "ч", "c": "ц", "w": "у", "x": "х",
}  # fmt: skip
UPPER_LATIN_2021 = {"I": "І", "İ": "И"}
LATIN_VOWELS = frozenset("aäeıioöuūüy")

# Letters that only a Kazakh Latin text of 2021 uses.
LATIN_2021_MARKERS = frozenset("äğıñöqşūüçİ")
# A text is converted as a whole when at least this share of its Latin words has a marker.
MIN_MARKER_SHARE = 0.25

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
    """Convert text in the 2021 Kazakh Latin alphabet to Cyrillic, keeping the letter case.

    The letter i is й after a vowel ("syi" сый, "üiıne" үйіне) and и elsewhere.
    """
    out = []
    for index, char in enumerate(text):
        if char in UPPER_LATIN_2021:
            out.append(UPPER_LATIN_2021[char])
            continue
        lower = char.lower()
        if lower == "i":
            after_vowel = index > 0 and text[index - 1].lower() in LATIN_VOWELS
            target = "й" if after_vowel else "и"
        else:
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
    return any(char in LATIN_2021_MARKERS for char in word.lower() + word) and not re.search(
        r"[а-яё]", word, re.I
    )


def normalise(text: str, latin: str = "auto") -> str:
    """Normalise Kazakh and Russian text: NFC, look-alike letters, Latin Kazakh to Cyrillic.

    ``latin`` is ``"auto"`` (convert the Latin words when a quarter of them has a letter
    that only the 2021 alphabet uses, such as ş or q),
    ``"all"`` (convert every Latin letter) or ``"keep"``.
    """
    if latin not in ("auto", "all", "keep"):
        raise ValueError(f"latin must be auto, all or keep, got {latin!r}")
    text = unicodedata.normalize("NFC", text).translate(LOOKALIKES)
    if latin == "all":
        return latin_to_cyrillic(text)
    if latin == "auto":
        latin_words = [
            w for w in WORD.findall(text) if re.fullmatch(r"[^\W\d_а-яёәғқңөұүһі'-]+", w, re.I)
        ]
        marked = sum(is_latin_2021_word(word) for word in latin_words)
        if latin_words and marked / len(latin_words) >= MIN_MARKER_SHARE:
            text = WORD.sub(
                lambda m: latin_to_cyrillic(m.group()) if m.group() in latin_words else m.group(),
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
