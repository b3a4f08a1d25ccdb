"""Prophet on small weekly series: one fit directly, and the Spark fan-out per fold."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from models.panel import WeekRange
from models.prophet_totals import FINAL_FOLD, fit_and_forecast, score_totals

FIRST_WEEK = dt.date(2024, 1, 1)
N_WEEKS = 20


def linear_series(n_weeks: int = N_WEEKS) -> pd.DataFrame:
    """Return weekly totals 100, 103, 106, ... with a small alternating wiggle."""
    weeks = pd.date_range(pd.Timestamp(FIRST_WEEK), periods=n_weeks, freq="7D")
    wiggle = np.where(np.arange(n_weeks) % 2 == 0, 1.0, -1.0)
    return pd.DataFrame({"ds": weeks, "y": 100.0 + 3.0 * np.arange(n_weeks) + wiggle})


def test_fit_follows_linear_trend():
    history = linear_series()
    next_week = history["ds"].iloc[-1] + pd.Timedelta(days=7)
    _, forecast = fit_and_forecast(history, next_week, interval_level=0.8, seed=1)
    # The trend gives 100 + 3 * 20 = 160 for week 20.
    assert forecast["yhat"].iloc[0] == pytest.approx(160.0, abs=3.0)
    assert forecast["yhat_lower"].iloc[0] < forecast["yhat"].iloc[0]
    assert forecast["yhat"].iloc[0] < forecast["yhat_upper"].iloc[0]


def test_fit_is_repeatable_with_seed():
    history = linear_series()
    next_week = history["ds"].iloc[-1] + pd.Timedelta(days=7)
    _, first = fit_and_forecast(history, next_week, interval_level=0.8, seed=5)
    _, second = fit_and_forecast(history, next_week, interval_level=0.8, seed=5)
    assert first["yhat_lower"].iloc[0] == second["yhat_lower"].iloc[0]
    assert first["yhat_upper"].iloc[0] == second["yhat_upper"].iloc[0]


def test_score_totals_by_hand():
    predictions = pd.DataFrame(
        {
            "fold": [1, 2, FINAL_FOLD],
            "week_start": [dt.date(2024, 5, 6), dt.date(2024, 5, 13), dt.date(2024, 5, 20)],
            "actual": [100.0, 50.0, np.nan],
            "score": [90.0, 60.0, 70.0],
            "lower": [95.0, 40.0, 60.0],
            "upper": [120.0, 70.0, 80.0],
        }
    )
    scores = score_totals(predictions, 0.8).set_index(["fold", "metric"])["value"]
    assert scores[(1, "mae")] == 10.0
    assert scores[(1, "ape")] == pytest.approx(0.1)
    assert scores[(1, "interval_coverage_80")] == 1.0
    assert scores[(2, "ape")] == pytest.approx(0.2)
    assert scores[(2, "interval_coverage_80")] == 1.0
    assert FINAL_FOLD not in scores.index.get_level_values("fold")


@pytest.mark.spark
@pytest.mark.slow
def test_spark_fits_one_group_per_fold(spark):
    from models.prophet_totals import prophet_predictions

    series = linear_series()
    totals = spark.createDataFrame(
        pd.DataFrame(
            {
                "area": "city",
                "week_index": np.arange(N_WEEKS, dtype="int32"),
                "week_start": [day.date() for day in series["ds"]],
                "total": series["y"],
            }
        ),
        "area string, week_index int, week_start date, total double",
    )
    folds = spark.createDataFrame([(1, 18), (2, 19)], "fold int, eval_week_index int")
    weeks = WeekRange(FIRST_WEEK, FIRST_WEEK + dt.timedelta(weeks=N_WEEKS - 1))

    result = (
        prophet_predictions(totals, folds, weeks, 2, 0.8, seed=1)
        .toPandas()
        .sort_values("fold", ignore_index=True)
    )

    assert list(result["fold"]) == [1, 2, FINAL_FOLD]
    assert list(result["actual"][:2]) == list(series["y"][18:20])
    assert np.isnan(result["actual"].iloc[2])
    assert result["week_start"].iloc[2] == FIRST_WEEK + dt.timedelta(weeks=N_WEEKS)
    # Week 20 on the trend: 160.
    assert result["score"].iloc[2] == pytest.approx(160.0, abs=3.0)
    assert result["model_json"].iloc[:2].isna().all()
    assert result["model_json"].iloc[2].startswith("{")
