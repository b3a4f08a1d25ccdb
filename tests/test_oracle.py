"""The oracle's PEI* on a hand-built truth table, with the values worked out by hand."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from models.oracle import OracleInputError, mean_over_weeks, oracle_scores, week_start

W1, W2, W3, W4 = (dt.date(2024, 1, 1) + dt.timedelta(weeks=k) for k in range(4))
CELLS = [f"c{k}" for k in range(10)]


def _truth() -> pd.DataFrame:
    rows = []
    for cell in CELLS:
        # c9 is in the study area but not in the truth, so its expectation is 0.
        if cell == "c9":
            continue
        w1 = {"c0": 5.0, "c1": 4.0, "c2": 3.0}.get(cell, 0.1)
        w2 = {"c5": 2.0, "c6": 1.0}.get(cell, 0.1)
        rows += [(cell, W1, w1), (cell, W2, w2), (cell, W3, 1.0), (cell, W4, 1.0)]
    # A cell outside the study area with the highest expectation must never be flagged.
    rows.append(("zz", W2, 100.0))
    return pd.DataFrame(rows, columns=["h3_cell", "week_start", "expected_count"])


def _observed() -> pd.DataFrame:
    rows = [
        ("c0", W1, 2), ("c2", W1, 3), ("c3", W1, 1),
        ("c5", W2, 1), ("c6", W2, 1), ("c7", W2, 1),
        ("c1", W3, 1), ("c9", W3, 1),
    ]
    return pd.DataFrame(rows, columns=["h3_cell", "week_start", "count"])


def test_oracle_pei_star_by_hand():
    # 10 study cells at 20% flag 2 cells a week.
    scores = oracle_scores(_truth(), _observed(), CELLS, [W1, W2, W3, W4], [0.2])
    by_week = scores.set_index("week_start")["pei_star_20pct"]
    # W1: the oracle flags c0 and c1 (2 + 0 hits); the best two cells hold 3 + 2.
    assert by_week[W1] == pytest.approx(2 / 5)
    # W2: c5 and c6 (2 hits of a best 2); zz is outside the study area.
    assert by_week[W2] == pytest.approx(1.0)
    # W3: equal expectations, so cell id order flags c0 and c1 (1 hit of a best 2).
    assert by_week[W3] == pytest.approx(0.5)
    # W4 has no incidents, so PEI* is undefined.
    assert math.isnan(by_week[W4])


def test_oracle_mean_skips_empty_weeks():
    scores = oracle_scores(_truth(), _observed(), CELLS, [W1, W2, W3, W4], [0.2])
    assert mean_over_weeks(scores, "pei_star_20pct") == pytest.approx((0.4 + 1.0 + 0.5) / 3)


def test_oracle_actual_totals():
    scores = oracle_scores(_truth(), _observed(), CELLS, [W1, W2, W3, W4], [0.2])
    assert scores["actual_total"].tolist() == [6.0, 3.0, 2.0, 0.0]


def test_oracle_rejects_weeks_missing_from_truth():
    later = W4 + dt.timedelta(weeks=1)
    with pytest.raises(OracleInputError, match=str(later)):
        oracle_scores(_truth(), _observed(), CELLS, [W1, later], [0.2])


def test_oracle_rejects_empty_study_area():
    with pytest.raises(OracleInputError, match="study area is empty"):
        oracle_scores(_truth(), _observed(), [], [W1], [0.2])


def test_week_start_is_monday():
    dates = pd.Series([dt.date(2024, 2, 29), dt.date(2024, 3, 3), dt.date(2024, 3, 4)])
    assert week_start(dates).tolist() == [dt.date(2024, 2, 26)] * 2 + [dt.date(2024, 3, 4)]
