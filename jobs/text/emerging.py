"""Emerging terms: weekly term counts tested against their own history.

For each term and week, the count is compared with a Poisson law whose mean is the term's
average count over the previous ``history_weeks`` weeks. A prior of 0.5 occurrences is added
to the history so that an unseen term does not get a zero mean. The one-sided
p-value is P(X >= count). A term is emerging when that p-value is below ``alpha`` divided by
the number of terms tested that week (Bonferroni) and its count is at least ``min_count``.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass

from jobs.text.normalise import fold_kazakh, normalise, split_suffixes, words

STOPWORDS = frozenset(
    "и в во на с со по за из к о об от до для не что как это его ее их но а у же ли бы "
    "при под над без после про через или то все был была были будет уже еще также "
    "және мен да де бен пен үшін бұл ол сол осы деп бойынша арқылы және де"
    .split()
)  # fmt: skip
RUSSIAN_STEM_LENGTH = 6


@dataclass(frozen=True)
class EmergingTerm:
    """One term whose count in ``week`` is improbable under its history."""

    term: str
    week: str
    count: int
    expected: float
    p_value: float


def extract_terms(text: str, with_pairs: bool = True) -> set[str]:
    """Return the terms of a text: stems of its words and, optionally, pairs of stems.

    Kazakh words (with a Kazakh-only letter) lose their suffixes; Russian words are cut to
    their first six letters, a crude stem that joins case forms.
    """
    stems = set()
    for word in words(normalise(text)):
        lowered = word.lower()
        if len(lowered) < 3 or lowered in STOPWORDS or lowered.isdigit():
            continue
        if any(char in "әғқңөұүһі" for char in lowered):
            stem = fold_kazakh(split_suffixes(lowered)[0])
        else:
            stem = lowered[:RUSSIAN_STEM_LENGTH]
        stems.add(stem)
    if not with_pairs:
        return stems
    pairs = {f"{a} + {b}" for a, b in itertools.combinations(sorted(stems), 2)}
    return stems | pairs


def weekly_counts(documents: list[tuple[str, set[str]]]) -> dict[str, Counter]:
    """Count in how many documents of each week each term occurs; documents are (week, terms)."""
    counts: dict[str, Counter] = {}
    for week, terms in documents:
        counts.setdefault(week, Counter()).update(terms)
    return counts


def poisson_p_value(count: int, expected: float) -> float:
    """Return P(X >= count) for X ~ Poisson(expected)."""
    from scipy.stats import poisson

    return float(poisson.sf(count - 1, expected))


def detect_emerging(
    counts: dict[str, Counter], history_weeks: int, alpha: float, min_count: int
) -> list[EmergingTerm]:
    """Test every term of every week that has ``history_weeks`` weeks before it."""
    weeks = sorted(counts)
    found: list[EmergingTerm] = []
    for index in range(history_weeks, len(weeks)):
        week = weeks[index]
        history = [counts[weeks[i]] for i in range(index - history_weeks, index)]
        candidates = [(term, n) for term, n in counts[week].items() if n >= min_count]
        if not candidates:
            continue
        level = alpha / len(counts[week])
        for term, count in candidates:
            expected = (sum(past[term] for past in history) + 0.5) / history_weeks
            p_value = poisson_p_value(count, expected)
            if p_value < level:
                found.append(EmergingTerm(term, week, count, expected, p_value))
    return sorted(found, key=lambda item: (item.week, item.p_value))
