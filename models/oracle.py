"""The oracle's hot-spot accuracy: cells ranked by their true intensity.

A synthetic country records the expected count of every cell and week. Ranking the study
cells by that expectation is the reference against which a model's PEI* is read. It is not
a hard ceiling: the near-repeat part of the expectation is averaged over possible pasts, so
a model that sees the recent events can beat it (the kz demo's model does at 5%). The
oracle still misses incidents, because the counts drawn from the expectation are random.

The oracle uses the same rules as the backtest: the study area is every cell with at
least one incident of the target, the top ``n = max(1, floor(fraction * cells + 0.5))``
cells are flagged, and ties are broken by cell id (models/metrics.py). A study cell
missing from the truth has an expected count of 0.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from models.metrics import fraction_label, pei_star


class OracleInputError(ValueError):
    """The truth or the observed counts do not cover the requested weeks or cells."""


def week_start(dates: pd.Series) -> pd.Series:
    """Return the Monday on or before each date."""
    days = pd.to_datetime(dates)
    return (days - pd.to_timedelta(days.dt.weekday, unit="D")).dt.date


def oracle_scores(
    truth: pd.DataFrame,
    observed: pd.DataFrame,
    study_cells: Iterable[str],
    weeks: Sequence[dt.date],
    fractions: Sequence[float],
) -> pd.DataFrame:
    """Return the oracle's PEI* per week and fraction, ranking cells by true intensity.

    ``truth`` has ``h3_cell``, ``week_start`` and ``expected_count``; ``observed`` has
    ``h3_cell``, ``week_start`` and ``count`` (cells without incidents may be left out).
    The result has one row per week with ``week_start``, ``actual_total`` and a
    ``pei_star_<fraction>`` column per fraction (NaN for a week without incidents).
    """
    cells = np.array(sorted(set(study_cells)), dtype=object)
    if len(cells) == 0:
        raise OracleInputError("the study area is empty: no cell has an incident of the target")
    truth_weeks = set(pd.to_datetime(truth["week_start"]).dt.date)
    missing = sorted(set(weeks) - truth_weeks)
    if missing:
        raise OracleInputError(
            f"the truth has no rows for weeks {[str(week) for week in missing]}; "
            "check that it comes from the same synthetic country as the silver table"
        )
    truth = truth.assign(week_start=pd.to_datetime(truth["week_start"]).dt.date)
    observed = observed.assign(week_start=pd.to_datetime(observed["week_start"]).dt.date)
    rows = []
    for week in weeks:
        expected = (
            truth.loc[truth["week_start"] == week]
            .groupby("h3_cell")["expected_count"]
            .sum()
            .reindex(cells, fill_value=0.0)
        )
        actual = (
            observed.loc[observed["week_start"] == week]
            .groupby("h3_cell")["count"]
            .sum()
            .reindex(cells, fill_value=0.0)
        )
        row = {"week_start": week, "actual_total": float(actual.sum())}
        for fraction in fractions:
            row[f"pei_star_{fraction_label(fraction)}"] = pei_star(
                expected.to_numpy(dtype=float), actual.to_numpy(dtype=float), fraction, cells
            )
        rows.append(row)
    return pd.DataFrame(rows)


def mean_over_weeks(scores: pd.DataFrame, metric: str) -> float:
    """Return the mean of ``metric`` over the weeks with incidents, as the backtest averages."""
    values = scores[metric].dropna()
    return float(values.mean()) if len(values) else math.nan
