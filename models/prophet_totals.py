"""Prophet forecasts of a target's aggregate series (the total over its study area per period).

Spark fits one Prophet model per ``applyInPandas`` group: each group is one area and one
fold. Fold ``k`` fits on the weeks before its evaluation week and forecasts that week,
like the cell-level backtest. The group with fold ``FINAL_FOLD`` fits on every complete
week, forecasts the next one and returns the fitted model as Prophet's JSON, so that the
driver can log it with ``mlflow.prophet``.

Weekly and monthly totals have no within-week pattern, so the daily and weekly seasonalities
are off for them. Daily totals keep the weekly seasonality. Yearly seasonality is left to
Prophet's default, which enables it from two years of data. The code says week for the
period, like the panel's ``week_index`` column.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

    from models.panel import PeriodRange, WeekRange

PROPHET_METHOD = "prophet_total"
FINAL_FOLD = 1_000_000
PROPHET_SCHEMA = (
    "area string, fold int, week_start date, actual double, score double, lower double, "
    "upper double, model_json string"
)


def fit_and_forecast(
    history: pd.DataFrame,
    forecast_week: pd.Timestamp,
    interval_level: float,
    seed: int,
    weekly_seasonality: bool = False,
):
    """Fit Prophet on ``history`` (``ds``, ``y``) and forecast ``forecast_week``.

    ``weekly_seasonality`` turns on the day-of-week pattern, for series of daily totals.

    Returns the fitted model and a one-row frame with ``yhat``, ``yhat_lower`` and
    ``yhat_upper`` (the ``interval_level`` interval). Prophet draws the interval by
    simulation, so numpy is seeded with ``seed`` first.
    """
    import pandas as pd
    from prophet import Prophet

    for name in ("cmdstanpy", "prophet"):
        logging.getLogger(name).setLevel(logging.WARNING)
    np.random.seed(seed)
    model = Prophet(
        interval_width=interval_level,
        daily_seasonality=False,
        weekly_seasonality=weekly_seasonality,
    )
    model.fit(history[["ds", "y"]])
    forecast = model.predict(pd.DataFrame({"ds": [pd.Timestamp(forecast_week)]}))
    return model, forecast[["yhat", "yhat_lower", "yhat_upper"]]


def _forecast_group(
    rows: pd.DataFrame, interval_level: float, seed: int, weekly_seasonality: bool = False
) -> pd.DataFrame:
    import pandas as pd
    from prophet.serialize import model_to_json

    rows = rows.sort_values("week_index")
    fold = int(rows["fold"].iloc[0])
    history = rows[rows["role"] == "train"]
    target_row = rows[rows["role"] == "test"].iloc[0]
    model, forecast = fit_and_forecast(
        pd.DataFrame({"ds": pd.to_datetime(history["week_start"]), "y": history["total"]}),
        pd.Timestamp(target_row["week_start"]),
        interval_level,
        seed,
        weekly_seasonality,
    )
    return pd.DataFrame(
        {
            "area": [rows["area"].iloc[0]],
            "fold": [fold],
            "week_start": [target_row["week_start"]],
            "actual": [float(target_row["total"])],
            # Totals are counts, so negative forecasts are clipped at zero.
            "score": [max(0.0, float(forecast["yhat"].iloc[0]))],
            "lower": [max(0.0, float(forecast["yhat_lower"].iloc[0]))],
            "upper": [max(0.0, float(forecast["yhat_upper"].iloc[0]))],
            "model_json": [model_to_json(model) if fold == FINAL_FOLD else None],
        }
    )


def weekly_totals(panel: DataFrame, area: str) -> DataFrame:
    """Return the area's total count per complete week (``area``, ``week_index``, ...)."""
    from pyspark.sql import functions as F

    return (
        panel.filter(F.col("count").isNotNull())
        .groupBy("week_index", "week_start")
        .agg(F.sum("count").alias("total"))
        .select(F.lit(area).alias("area"), "week_index", "week_start", "total")
    )


def prophet_predictions(
    totals: DataFrame,
    folds: DataFrame,
    weeks: PeriodRange | WeekRange,
    min_history_weeks: int,
    interval_level: float,
    seed: int,
) -> DataFrame:
    """Fit Prophet per area and fold on the executors; return each fold's forecast.

    ``folds`` has ``fold`` and ``eval_week_index``. A final fold ``FINAL_FOLD`` is added
    that trains on all complete weeks and forecasts the next week, whose ``actual`` is
    NaN. Training weeks start at ``min_history_weeks``, as in the cell backtest.
    """
    from pyspark.sql import functions as F

    spark = totals.sparkSession
    periods = weeks.as_periods() if hasattr(weeks, "as_periods") else weeks
    n_weeks = periods.n_periods
    final = spark.createDataFrame([(FINAL_FOLD, n_weeks)], "fold int, eval_week_index int")
    all_folds = folds.select("fold", "eval_week_index").unionByName(final)
    # The forecast week has no total yet: a row with a null total carries its date.
    next_week = spark.createDataFrame(
        [(n_weeks, periods.start(n_weeks))], "week_index int, week_start date"
    )
    areas = totals.select("area").distinct()
    with_next = totals.unionByName(
        areas.crossJoin(next_week).select(
            "area", "week_index", "week_start", F.lit(None).cast("double").alias("total")
        )
    )
    in_fold = (F.col("week_index") >= min_history_weeks) & (
        F.col("week_index") <= F.col("eval_week_index")
    )
    rows = with_next.join(all_folds, on=in_fold, how="inner").withColumn(
        "role",
        F.when(F.col("week_index") == F.col("eval_week_index"), "test").otherwise("train"),
    )

    weekly_seasonality = periods.period == "day"

    def forecast_group(group):
        return _forecast_group(group, interval_level, seed, weekly_seasonality)

    return (
        rows.select("area", "fold", "week_index", "week_start", "total", "role")
        .groupBy("area", "fold")
        .applyInPandas(forecast_group, PROPHET_SCHEMA)
    )


def score_totals(predictions: pd.DataFrame, interval_level: float) -> pd.DataFrame:
    """Return per-fold MAE, absolute percentage error and interval coverage of the totals.

    Rows of the final fold (no actual) are left out. The result has the columns of the
    backtest score table: ``fold``, ``period_start``, ``method``, ``metric``, ``value``.
    """
    import pandas as pd

    label = f"{interval_level * 100:g}"
    rows = []
    for _, row in predictions[predictions["fold"] != FINAL_FOLD].iterrows():
        error = abs(row["score"] - row["actual"])
        metrics = {
            "mae": error,
            "ape": error / row["actual"] if row["actual"] > 0 else np.nan,
            f"interval_coverage_{label}": float(row["lower"] <= row["actual"] <= row["upper"]),
        }
        for metric, value in metrics.items():
            rows.append((int(row["fold"]), row["week_start"], PROPHET_METHOD, metric, value))
    return pd.DataFrame(rows, columns=["fold", "period_start", "method", "metric", "value"])
