"""Fake Kazakhstan identifiers: IINs and BINs with valid check digits, phones, names.

An IIN (individual identification number) has 12 digits: the birth date as YYMMDD, a digit
for century and sex (3/4 for men/women born 1900-1999, 5/6 for 2000-2099), four serial
digits and a check digit. The check digit is the weighted sum of the first 11 digits
modulo 11 with weights 1..11. When that gives 10, the sum is taken again with weights
3..11, 1, 2. When that also gives 10, the number is not valid and is never issued.
A BIN (business identification number) uses the same check digit.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FIRST_WEIGHTS = np.arange(1, 12)
SECOND_WEIGHTS = np.array([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2])
INVALID = 10

KAZAKH_MALE = [
    "Nurlan",
    "Yerlan",
    "Daniyar",
    "Aibek",
    "Askar",
    "Bauyrzhan",
    "Yerzhan",
    "Marat",
    "Serik",
    "Arman",
    "Dauren",
    "Zhandos",
    "Nurbol",
    "Olzhas",
    "Timur",
    "Almas",
]
KAZAKH_FEMALE = [
    "Aigerim",
    "Aruzhan",
    "Dana",
    "Gulnara",
    "Zhanar",
    "Saule",
    "Aizhan",
    "Madina",
    "Dinara",
    "Asel",
    "Kamila",
    "Moldir",
    "Ainur",
    "Gaukhar",
    "Akerke",
    "Zarina",
]
KAZAKH_SURNAME_ROOTS = [
    "Abdrakhman",
    "Akhmet",
    "Baimukhamed",
    "Dzhaksybek",
    "Esim",
    "Ibrai",
    "Kasym",
    "Mukhamedzhan",
    "Nurpeis",
    "Omar",
    "Sarsenbai",
    "Tokta",
    "Zhumabek",
    "Seitkali",
]
RUSSIAN_MALE = [
    "Aleksandr",
    "Sergei",
    "Dmitrii",
    "Andrei",
    "Aleksei",
    "Ivan",
    "Mikhail",
    "Nikolai",
    "Vladimir",
    "Pavel",
    "Yurii",
    "Oleg",
]
RUSSIAN_FEMALE = [
    "Elena",
    "Olga",
    "Natalia",
    "Irina",
    "Tatiana",
    "Svetlana",
    "Anna",
    "Marina",
    "Yulia",
    "Ekaterina",
    "Galina",
    "Liudmila",
]
RUSSIAN_SURNAME_ROOTS = [
    "Ivanov",
    "Petrov",
    "Smirnov",
    "Kuznetsov",
    "Popov",
    "Sokolov",
    "Lebedev",
    "Kozlov",
    "Novikov",
    "Morozov",
    "Volkov",
    "Pavlov",
]
# Mobile network codes in use in Kazakhstan (+7 7xx).
MOBILE_CODES = np.array([700, 701, 702, 705, 707, 708, 747, 771, 775, 776, 777, 778])


def check_digit(first_eleven: str) -> int | None:
    """Return the check digit of an IIN or BIN from its first 11 digits, or None if invalid."""
    if len(first_eleven) != 11 or not first_eleven.isdigit():
        raise ValueError(f"expected 11 digits, got {first_eleven!r}")
    digits = np.array([int(c) for c in first_eleven])
    result = int(_check_digits(digits[np.newaxis, :])[0])
    return None if result < 0 else result


def _check_digits(digits: np.ndarray) -> np.ndarray:
    """Compute check digits for rows of 11 digits; -1 where the number cannot be issued."""
    first = (digits @ FIRST_WEIGHTS) % 11
    second = (digits @ SECOND_WEIGHTS) % 11
    result = np.where(first == INVALID, second, first)
    return np.where(result == INVALID, -1, result)


def is_valid_iin(iin: str) -> bool:
    """Check the length, digits and check digit of an IIN or BIN."""
    if len(iin) != 12 or not iin.isdigit():
        return False
    expected = check_digit(iin[:11])
    return expected is not None and expected == int(iin[11])


def _digits_of(values: np.ndarray, width: int) -> np.ndarray:
    """Split non-negative integers into a (len, width) array of decimal digits."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, np.newaxis] // powers) % 10


def make_iins(
    rng: np.random.Generator, birth_dates: np.ndarray, is_female: np.ndarray
) -> list[str]:
    """Draw unique IINs for people with the given birth dates (datetime64[D]) and sexes.

    Serial numbers that give the invalid check digit, or that repeat an IIN already drawn,
    are drawn again until every IIN is valid and unique.
    """
    years = birth_dates.astype("datetime64[Y]").astype(np.int64) + 1970
    months = birth_dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (birth_dates - birth_dates.astype("datetime64[M]")).astype(np.int64) + 1
    century_sex = np.where(years >= 2000, 5, 3) + is_female.astype(np.int64)
    prefix = ((years % 100) * 10000 + months * 100 + days) * 10 + century_sex
    serials = rng.integers(0, 10000, size=len(prefix))
    pending = np.ones(len(prefix), dtype=bool)
    numbers = np.zeros(len(prefix), dtype=np.int64)
    while pending.any():
        first_eleven = prefix[pending] * 10000 + serials[pending]
        checks = _check_digits(_digits_of(first_eleven, 11))
        numbers[pending] = first_eleven * 10 + np.maximum(checks, 0)
        bad = np.zeros(len(prefix), dtype=bool)
        bad[np.flatnonzero(pending)[checks < 0]] = True
        _, first_index = np.unique(numbers, return_index=True)
        repeated = np.ones(len(prefix), dtype=bool)
        repeated[first_index] = False
        pending = bad | repeated
        serials[pending] = rng.integers(0, 10000, size=int(pending.sum()))
    return zero_padded(numbers, 12).to_pylist()


def make_bins(rng: np.random.Generator, count: int, registered_from: int = 1995) -> list[str]:
    """Draw unique fake BINs: YYMM of registration, 4 (legal entity), 0, 5 serial, check."""
    numbers: dict[int, None] = {}
    while len(numbers) < count:
        need = count - len(numbers)
        years = rng.integers(registered_from, 2023, size=need) % 100
        months = rng.integers(1, 13, size=need)
        first_eleven = ((years * 100 + months) * 100 + 40) * 100000 + rng.integers(
            0, 100000, size=need
        )
        checks = _check_digits(_digits_of(first_eleven, 11))
        for value, check in zip(first_eleven.tolist(), checks.tolist(), strict=True):
            if check >= 0:
                numbers.setdefault(value * 10 + check)
    return [f"{value:012d}" for value in list(numbers)[:count]]


def zero_padded(values: np.ndarray, width: int) -> pa.StringArray:
    """Format non-negative integers as decimal text left-padded with zeros to ``width``."""
    return pc.utf8_lpad(pc.cast(pa.array(values, pa.int64()), pa.string()), width, "0")


def make_phones(rng: np.random.Generator, count: int) -> list[str]:
    """Draw E.164 mobile numbers +77xx xxxxxxx (repeats are possible, as for reused SIMs)."""
    codes = MOBILE_CODES[rng.integers(0, len(MOBILE_CODES), size=count)]
    subscribers = rng.integers(0, 10_000_000, size=count)
    code_text = pc.cast(pa.array(codes, pa.int64()), pa.string())
    return pc.binary_join_element_wise("+7", code_text, zero_padded(subscribers, 7), "").to_pylist()


# Name lists per (Kazakh or Russian, sex) group: first names, surname roots, surname ending.
NAME_GROUPS = (
    (KAZAKH_MALE, KAZAKH_SURNAME_ROOTS, "ov"),
    (KAZAKH_FEMALE, KAZAKH_SURNAME_ROOTS, "ova"),
    (RUSSIAN_MALE, RUSSIAN_SURNAME_ROOTS, ""),
    (RUSSIAN_FEMALE, RUSSIAN_SURNAME_ROOTS, "a"),
)


def make_names(rng: np.random.Generator, is_female: np.ndarray, kazakh_share: float) -> list[str]:
    """Draw "Surname Firstname" names from Kazakh and Russian lists, in the person's sex."""
    count = len(is_female)
    kazakh = rng.random(count) < kazakh_share
    picks = rng.integers(0, 1 << 30, size=(count, 2))
    group = np.where(kazakh, 0, 2) + np.asarray(is_female, dtype=bool).astype(np.int64)
    # All groups' first names and surnames in one list each, with each group's slice.
    firsts, surnames = [], []
    first_start, first_size, surname_start, surname_size = [], [], [], []
    for first_names, roots, ending in NAME_GROUPS:
        first_start.append(len(firsts))
        first_size.append(len(first_names))
        firsts.extend(first_names)
        surname_start.append(len(surnames))
        surname_size.append(len(roots))
        surnames.extend(root + ending for root in roots)
    first_index = np.array(first_start)[group] + picks[:, 0] % np.array(first_size)[group]
    surname_index = np.array(surname_start)[group] + picks[:, 1] % np.array(surname_size)[group]
    return pc.binary_join_element_wise(
        pa.array(surnames, pa.string()).take(surname_index),
        pa.array(firsts, pa.string()).take(first_index),
        " ",
    ).to_pylist()


class PersonPool:
    """Fake residents: IIN, name, birth date and phone, indexed by position."""

    def __init__(self, rng: np.random.Generator, size: int, reference_date: np.datetime64):
        self.size = size
        is_female = rng.random(size) < 0.52
        # Ages 16 to 85 on the reference date.
        ages_days = rng.integers(16 * 365, 85 * 365, size=size)
        self.birth_dates = reference_date - ages_days.astype("timedelta64[D]")
        self.iins = np.array(make_iins(rng, self.birth_dates, is_female), dtype=object)
        self.names = np.array(make_names(rng, is_female, kazakh_share=0.7), dtype=object)
        self.phones = np.array(make_phones(rng, size), dtype=object)
        self.birth_date_text = np.array(
            self.birth_dates.astype("datetime64[D]").astype(str).tolist(), dtype=object
        )
        self._arrow = {
            name: pa.array(getattr(self, name), pa.string())
            for name in ("iins", "names", "phones", "birth_date_text")
        }

    def take(self, field: str, index: np.ndarray) -> pa.StringArray:
        """Return one text field ("iins", "names", "phones", "birth_date_text") at ``index``."""
        return self._arrow[field].take(index)
