"""Place extraction to city and current region through a Kazakh and Russian gazetteer.

Names match by stem: a text word matches a name when its folded form starts with the name's
stem and the remaining ending is short (Russian case endings such as "в Астане", Kazakh
suffixes such as "Астанадағы"). Region phrases ("Алматинской области", "Алматы облысы") are
matched before city names, so the region adjective does not match the city.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

from jobs.text.normalise import fold_kazakh, normalise, words

VOWEL_ENDINGS = "аеиоуыэюяйь"

# Endings a name may take, after Kazakh letters are folded: Russian case endings and Kazakh
# case and locative suffixes. A word with any other ending ("Оралман", "Қоғамдық") is no name.
RUSSIAN_ENDINGS = {"", "а", "е", "у", "ы", "и", "ом", "ой", "ою", "ем", "ей", "ью", "ь", "я",
                   "ю", "ск", "ского", "ском", "ской", "скому", "ская", "ское"}  # fmt: skip
KAZAKH_ENDINGS = {"да", "де", "та", "те", "нда", "нде", "дагы", "деги", "тагы", "теги",
                  "ндагы", "ндеги", "га", "ге", "ка", "ке", "на", "не", "дан", "ден", "тан",
                  "тен", "нан", "нен", "дын", "дин", "тын", "тин", "нын", "нин", "ны", "ни",
                  "ды", "ди", "ты", "ти"}  # fmt: skip


class GazetteerError(ValueError):
    """A gazetteer entry or input file is invalid."""


@dataclass(frozen=True)
class Place:
    """A place found in a text: city (None for a region mention) and current region code."""

    city: str | None
    region_code: str
    region_name: str
    matched: str


def name_stem(name: str) -> str:
    """Fold a name and drop a final vowel so that inflected forms share the stem."""
    folded = fold_kazakh(name)
    if len(folded) > 4 and folded[-1] in VOWEL_ENDINGS:
        return folded[:-1]
    return folded


# Latin transliteration of kz_places.csv.gz names -> Russian Cyrillic, digraphs first.
LATIN_DIGRAPHS = (("shch", "щ"), ("zh", "ж"), ("kh", "х"), ("ch", "ч"), ("sh", "ш"),
                  ("ts", "ц"), ("ya", "я"), ("yu", "ю"), ("gh", "г"))  # fmt: skip
LATIN_LETTERS = dict(zip("abdefghijklmnopqrstuvyzcxw", "абдефгхийклмнопкрстувызцхв", strict=True))


def transliterate_place(name: str) -> str:
    """Transliterate a romanised Kazakh place name to Russian Cyrillic (best effort)."""
    text = name.lower().replace("’", "").replace("ū", "у").replace("ī", "и").replace("ö", "о")
    text = text.replace("ü", "у").replace("ä", "а")
    for latin, cyrillic in LATIN_DIGRAPHS:
        text = text.replace(latin, cyrillic)
    text = text.replace("yy", "ый").replace("iy", "ий")
    return "".join(LATIN_LETTERS.get(char, char) for char in text)


class Gazetteer:
    """City and region patterns with their current (post-2022) region."""

    def __init__(self, settings: dict, places: list[dict] | None = None) -> None:
        self.regions: dict[str, dict] = settings["regions"]
        # Each pattern: (tuple of stems, city or None, region code); longest patterns first.
        patterns: list[tuple[tuple[str, ...], str | None, str]] = []
        for code, region in self.regions.items():
            if region.get("adjective"):
                adjective = fold_kazakh(region["adjective"])
                patterns.append(((adjective, "област"), None, code))
                patterns.append(((adjective, "обл"), None, code))
            if region.get("noun"):
                noun = tuple(name_stem(part) for part in region["noun"].split())
                patterns.append((noun + ("облыс",), None, code))
                patterns.append((("област",) + noun, None, code))
        known_latin = set()
        for city in settings["cities"]:
            if city["region"] not in self.regions:
                raise GazetteerError(f"city {city['name']}: unknown region {city['region']}")
            known_latin.add(city.get("latin"))
            for form in city["forms"]:
                # The tokeniser keeps hyphenated names whole, so "Нур-Султан" is one stem.
                stems = tuple(name_stem(part.replace("-", "")) for part in form.split())
                patterns.append((stems, city["name"], city["region"]))
        for place in places or []:
            if place["place_name"] in known_latin:
                continue
            form = transliterate_place(place["place_name"])
            if len(form) >= 5:
                patterns.append(((name_stem(form),), form.capitalize(), place["region_code"]))
        patterns.sort(key=lambda item: (-len(item[0]), -sum(len(stem) for stem in item[0])))
        self.patterns = patterns

    def region_name(self, code: str, language: str = "ru") -> str:
        """Return the current name of region ``code`` in Russian or Kazakh."""
        return self.regions[code][language]

    def find(self, text: str) -> list[Place]:
        """Find every place in ``text``, regions before cities, in text order."""
        tokens = words(normalise(text))
        folded = [fold_kazakh(token).replace("-", "") for token in tokens]
        used = [False] * len(tokens)
        found: list[tuple[int, Place]] = []
        # Every match starts with a token that begins with the pattern's first stem, so a
        # pattern whose first stem is no token's prefix is skipped without a scan.
        prefixes = {token[:end] for token in folded for end in range(1, len(token) + 1)}
        for stems, city, code in self.patterns:
            plain = tuple(stem.replace("-", "") for stem in stems)
            if plain[0] not in prefixes:
                continue
            for start in range(len(tokens) - len(plain) + 1):
                span = range(start, start + len(plain))
                if any(used[i] for i in span):
                    continue
                pairs = zip(span, plain, strict=True)
                if not all(self._matches(folded[i], stem) for i, stem in pairs):
                    continue
                # Names are capitalised; the capital check keeps "семей" (of families) out.
                if city is not None and not tokens[start][0].isupper():
                    continue
                for i in span:
                    used[i] = True
                matched = " ".join(tokens[i] for i in span)
                found.append((start, Place(city, code, self.region_name(code), matched)))
        return [place for _, place in sorted(found, key=lambda item: item[0])]

    @staticmethod
    def _matches(token: str, stem: str) -> bool:
        if stem in ("област", "облыс", "обл"):
            return token.startswith(stem)
        if not token.startswith(stem):
            return False
        ending = token[len(stem) :]
        if ending in RUSSIAN_ENDINGS or ending in KAZAKH_ENDINGS:
            return True
        # The stem may have lost a final vowel, which then leads the ending ("астан|адагы").
        return ending[:1] in VOWEL_ENDINGS and (
            ending[1:] in KAZAKH_ENDINGS or ending[1:] in RUSSIAN_ENDINGS
        )

    def locate(self, text: str) -> Place | None:
        """Return the most specific place of a text: its first city, else its first region."""
        places = self.find(text)
        cities = [place for place in places if place.city is not None]
        if cities:
            return cities[0]
        return places[0] if places else None


def read_places(path: Path) -> list[dict]:
    """Read kz_places.csv.gz rows (place_name, region_code, latitude, longitude)."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_gazetteer(settings: dict, real_data: Path | None = None) -> Gazetteer:
    """Build the gazetteer from the settings and, when given, kz_places.csv.gz."""
    places = None
    if real_data is not None:
        path = real_data / settings["inputs"]["places"]
        if not path.exists():
            raise GazetteerError(f"gazetteer file not found: {path}")
        places = read_places(path)
    return Gazetteer(settings, places)
