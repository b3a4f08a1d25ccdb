"""Rolling-origin backtest of the LightGBM model and the baselines, fanned out on Spark.

Fold ``k`` (1 = oldest) evaluates one of the last ``evaluation_weeks`` complete weeks and
trains on the weeks before it only, from ``min_history_weeks`` on (earlier weeks lack some
lag features). Spark groups the rows by fold and trains one booster per group with
``applyInPandas``, then scores each (fold, method) group with ``applyInPandas`` again.

Baselines need no training. They score each cell by a feature of the evaluation week:
``baseline_last_week`` by ``lag_1``, ``baseline_long_run_mean`` by ``mean_all`` (all
earlier weeks) and ``baseline_ewm_0_8`` by ``ewm_0_8``.
"""

from __future__ import annotations

import functools
import math
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

    from models.panel import WeekRange

MODEL_METHOD = "model"
BASELINES = {
    "baseline_last_week": "lag_1",
    "baseline_long_run_mean": "mean_all",
    "baseline_ewm_0_8": "ewm_0_8",
}
PREDICTION_SCHEMA = (
    "fold int, method string, h3_cell string, week_start date, actual double, "
    "score double, lower double, upper double"
)
SCORE_SCHEMA = "fold int, period_start date, method string, metric string, value double"


def ship_modules() -> None:
    """Pickle the model modules by value, so executors need no copy of this project."""
    from pyspark import cloudpickle

    for name in ("models.metrics", "models.training", "models.backtest"):
        __import__(name)
        cloudpickle.register_pickle_by_value(sys.modules[name])


def fold_weeks(spark, weeks: WeekRange, evaluation_weeks: int) -> DataFrame:
    """Return (fold, eval_week_index) for the last ``evaluation_weeks`` complete weeks."""
    last_index = weeks.n_weeks - 1
    rows = [(k, last_index - evaluation_weeks + k) for k in range(1, evaluation_weeks + 1)]
    return spark.createDataFrame(rows, "fold int, eval_week_index int")


def fold_rows(features: DataFrame, folds: DataFrame, min_history_weeks: int) -> DataFrame:
    """Return each fold's training rows (role ``train``) and evaluation rows (``test``)."""
    from pyspark.sql import functions as F

    in_fold = (F.col("week_index") >= min_history_weeks) & (
        F.col("week_index") <= F.col("eval_week_index")
    )
    return (
        features.join(folds, on=in_fold, how="inner")
        .withColumn(
            "role",
            F.when(F.col("week_index") == F.col("eval_week_index"), "test").otherwise("train"),
        )
        .drop("eval_week_index")
    )


def _train_and_predict(
    rows: pd.DataFrame,
    feature_columns: list[str],
    params: dict,
    num_boost_round: int,
    interval_level: float,
) -> pd.DataFrame:
    import pandas as pd

    from models.training import fit_booster, poisson_interval

    train = rows[rows["role"] == "train"]
    test = rows[rows["role"] == "test"]
    booster = fit_booster(train, feature_columns, params, num_boost_round)
    predicted = booster.predict(test[feature_columns].astype("float64"))
    lower, upper = poisson_interval(predicted, interval_level)
    return pd.DataFrame(
        {
            "fold": test["fold"].astype("int32").to_numpy(),
            "method": MODEL_METHOD,
            "h3_cell": test["h3_cell"].to_numpy(),
            "week_start": test["week_start"].to_numpy(),
            "actual": test["count"].astype(float).to_numpy(),
            "score": predicted,
            "lower": lower,
            "upper": upper,
        }
    )


def model_predictions(
    rows: DataFrame,
    feature_columns: list[str],
    params: dict,
    num_boost_round: int,
    interval_level: float,
) -> DataFrame:
    """Train one booster per fold on the executors and return its evaluation-week scores."""
    keep = ["fold", "role", "h3_cell", "week_start", "count", *feature_columns]
    feature_columns = list(feature_columns)
    params = dict(params)

    # A plain function without type hints: Spark inspects the hints of the function it gets
    # and warns on functools.partial objects and on unresolvable annotations.
    def train_fold(group):
        return _train_and_predict(group, feature_columns, params, num_boost_round, interval_level)

    return rows.select(*keep).groupBy("fold").applyInPandas(train_fold, PREDICTION_SCHEMA)


def baseline_predictions(rows: DataFrame) -> DataFrame:
    """Return the baseline scores of each fold's evaluation week (missing history as 0)."""
    from pyspark.sql import functions as F

    test = rows.filter(F.col("role") == "test")
    frames = [
        test.select(
            "fold",
            F.lit(method).alias("method"),
            "h3_cell",
            "week_start",
            F.col("count").alias("actual"),
            F.coalesce(F.col(column), F.lit(0.0)).alias("score"),
            F.lit(None).cast("double").alias("lower"),
            F.lit(None).cast("double").alias("upper"),
        )
        for method, column in BASELINES.items()
    ]
    return functools.reduce(lambda left, right: left.unionByName(right), frames)


def _score_group(
    predictions: pd.DataFrame, fractions: list[float], interval_label: str
) -> pd.DataFrame:
    import h3
    import numpy as np
    import pandas as pd

    from models.metrics import fraction_label, hit_rate, pai, pei_star

    cells = predictions["h3_cell"].tolist()
    scores = predictions["score"].to_numpy(dtype=float)
    actual = predictions["actual"].to_numpy(dtype=float)
    areas = [h3.cell_area(cell, unit="km^2") for cell in cells]
    metrics: dict[str, float] = {}
    for fraction in fractions:
        label = fraction_label(fraction)
        metrics[f"pai_{label}"] = pai(scores, actual, areas, fraction, cells)
        metrics[f"pei_star_{label}"] = pei_star(scores, actual, fraction, cells)
        metrics[f"hit_rate_{label}"] = hit_rate(scores, actual, fraction, cells)
    metrics["mae"] = float(np.mean(np.abs(scores - actual)))
    metrics["actual_total"] = float(actual.sum())
    if predictions["lower"].notna().all():
        inside = (actual >= predictions["lower"]) & (actual <= predictions["upper"])
        metrics[f"interval_coverage_{interval_label}"] = float(inside.mean())
    return pd.DataFrame(
        {
            "fold": int(predictions["fold"].iloc[0]),
            "period_start": predictions["week_start"].iloc[0],
            "method": predictions["method"].iloc[0],
            "metric": list(metrics),
            "value": [math.nan if value is None else value for value in metrics.values()],
        }
    )


def score_folds(predictions: DataFrame, fractions: list[float], interval_level: float) -> DataFrame:
    """Return one row per fold, method and metric (PAI, PEI*, hit rate, MAE, coverage)."""
    fractions = list(fractions)
    interval_label = f"{interval_level * 100:g}"

    def score_group(group):
        return _score_group(group, fractions, interval_label)

    return predictions.groupBy("fold", "method").applyInPandas(score_group, SCORE_SCHEMA)


def summarise(scores: pd.DataFrame) -> dict[str, float]:
    """Average each method's metrics over the folds: ``{method}_{metric}`` -> mean.

    Folds where a metric is NaN (no incidents that week) are left out of its mean.
    """
    means = scores.groupby(["method", "metric"])["value"].mean()
    return {f"{method}_{metric}": float(value) for (method, metric), value in means.items()}
