"""Rolling-origin backtest of the LightGBM model and the baselines, fanned out on Spark.

Fold ``k`` (1 = oldest) evaluates one of the last ``evaluation_periods`` complete periods
(days, weeks or months) and trains on the periods before it only, from
``min_history_periods`` on (earlier periods lack some lag features). The code below says
week for the period, like the panel's ``week_index`` column. Spark groups the rows by fold
and trains one booster per group with ``applyInPandas``, then scores each (fold, method)
group with ``applyInPandas`` again.

Tuning folds (numbered 0, -1, ...) evaluate the weeks just before the evaluation window
the same way. They choose the KDE bandwidth and calibrate the model's prediction
intervals, so nothing is tuned on the evaluation weeks, and they are left out of the
reported metrics.

Baselines need no training. Four score each cell by a feature of the evaluation week:
``baseline_last_week`` by ``lag_1``, ``baseline_long_run_mean`` by ``mean_all`` (all
earlier weeks), ``baseline_ewm_0_8`` by ``ewm_0_8`` and ``baseline_ewm_0_9`` by
``ewm_0_9``. Two score cells from incident coordinates (``models.spatial_baselines``).
"""

from __future__ import annotations

import functools
import math
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

    from models.panel import PeriodRange, WeekRange

MODEL_METHOD = "model"
BASELINES = {
    "baseline_last_week": "lag_1",
    "baseline_long_run_mean": "mean_all",
    "baseline_ewm_0_8": "ewm_0_8",
    "baseline_ewm_0_9": "ewm_0_9",
}
PREDICTION_SCHEMA = (
    "fold int, method string, h3_cell string, week_start date, actual double, "
    "score double, lower double, upper double"
)
SCORE_SCHEMA = "fold int, period_start date, method string, metric string, value double"


def ship_modules() -> None:
    """Pickle the model modules by value, so executors need no copy of this project."""
    from pyspark import cloudpickle

    modules = (
        "models.metrics",
        "models.training",
        "models.intervals",
        "models.spatial_baselines",
        "models.prophet_totals",
        "models.backtest",
    )
    for name in modules:
        __import__(name)
        cloudpickle.register_pickle_by_value(sys.modules[name])


def tuning_fold_count(first_eval_index: int, tuning_weeks: int, min_history_weeks: int) -> int:
    """Return how many tuning folds fit before the evaluation window.

    A tuning fold's week needs at least one training week from ``min_history_weeks`` on.
    """
    return max(0, min(tuning_weeks, first_eval_index - min_history_weeks - 1))


def fold_weeks(
    spark,
    weeks: PeriodRange | WeekRange,
    evaluation_weeks: int,
    tuning_weeks: int = 0,
    min_history_weeks: int = 1,
) -> DataFrame:
    """Return (fold, eval_week_index) of the evaluation and tuning folds.

    Folds 1 to ``evaluation_weeks`` evaluate the last complete periods, oldest first. Folds
    0, -1, ... evaluate up to ``tuning_weeks`` periods just before them, newest first.
    """
    n_periods = weeks.n_weeks if hasattr(weeks, "n_weeks") else weeks.n_periods
    first_eval = n_periods - evaluation_weeks
    n_tuning = tuning_fold_count(first_eval, tuning_weeks, min_history_weeks)
    rows = [(k, first_eval - 1 + k) for k in range(1 - n_tuning, evaluation_weeks + 1)]
    return spark.createDataFrame(rows, "fold int, eval_week_index int")


def fold_rows(
    features: DataFrame,
    folds: DataFrame,
    min_history_weeks: int,
    training_window: int | None = None,
) -> DataFrame:
    """Return each fold's training rows (role ``train``) and evaluation rows (``test``).

    With ``training_window`` a fold trains on at most that many periods just before its
    evaluation period, else on every period from ``min_history_weeks`` on.
    """
    from pyspark.sql import functions as F

    in_fold = (F.col("week_index") >= min_history_weeks) & (
        F.col("week_index") <= F.col("eval_week_index")
    )
    if training_window is not None:
        in_fold = in_fold & (F.col("week_index") >= F.col("eval_week_index") - training_window)
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
    zero_fraction: float = 1.0,
) -> pd.DataFrame:
    import pandas as pd

    from models.training import fit_booster, poisson_interval

    train = rows[rows["role"] == "train"]
    test = rows[rows["role"] == "test"]
    booster = fit_booster(train, feature_columns, params, num_boost_round, zero_fraction)
    predicted = booster.predict(test[feature_columns].astype("float64"))
    # Poisson bounds until add_conformal_intervals replaces them with calibrated ones.
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
    zero_fraction: float = 1.0,
) -> DataFrame:
    """Train one booster per fold on the executors and return its evaluation-week scores.

    ``zero_fraction`` is the share of zero-count training rows kept (see ``fit_booster``).
    """
    keep = ["fold", "role", "h3_cell", "week_start", "count", *feature_columns]
    feature_columns = list(feature_columns)
    params = dict(params)

    # A plain function without type hints: Spark inspects the hints of the function it gets
    # and warns on functools.partial objects and on unresolvable annotations.
    def train_fold(group):
        return _train_and_predict(
            group, feature_columns, params, num_boost_round, interval_level, zero_fraction
        )

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
    predictions: pd.DataFrame, fractions: list[float], interval_level: float, unit: str = "h3"
) -> pd.DataFrame:
    import h3
    import numpy as np
    import pandas as pd

    from models.metrics import fraction_label, hit_rate, pai, pei_star
    from models.training import poisson_interval

    interval_label = f"{interval_level * 100:g}"
    cells = predictions["h3_cell"].tolist()
    scores = predictions["score"].to_numpy(dtype=float)
    actual = predictions["actual"].to_numpy(dtype=float)
    # PAI needs each unit's area. H3 cells have one, region codes do not, so region targets
    # get no PAI.
    areas = [h3.cell_area(cell, unit="km^2") for cell in cells] if unit == "h3" else None
    metrics: dict[str, float] = {}
    for fraction in fractions:
        label = fraction_label(fraction)
        if areas is not None:
            metrics[f"pai_{label}"] = pai(scores, actual, areas, fraction, cells)
        metrics[f"pei_star_{label}"] = pei_star(scores, actual, fraction, cells)
        metrics[f"hit_rate_{label}"] = hit_rate(scores, actual, fraction, cells)
    metrics["mae"] = float(np.mean(np.abs(scores - actual)))
    metrics["actual_total"] = float(actual.sum())
    if predictions["lower"].notna().all():
        lower = predictions["lower"].to_numpy(dtype=float)
        upper = predictions["upper"].to_numpy(dtype=float)
        metrics[f"interval_coverage_{interval_label}"] = float(
            np.mean((actual >= lower) & (actual <= upper))
        )
        metrics[f"interval_width_{interval_label}"] = float(np.mean(upper - lower))
    if predictions["method"].iloc[0] == MODEL_METHOD:
        # The uncalibrated Poisson interval, reported beside the calibrated one.
        poisson_lower, poisson_upper = poisson_interval(scores, interval_level)
        metrics[f"poisson_interval_coverage_{interval_label}"] = float(
            np.mean((actual >= poisson_lower) & (actual <= poisson_upper))
        )
    return pd.DataFrame(
        {
            "fold": int(predictions["fold"].iloc[0]),
            "period_start": predictions["week_start"].iloc[0],
            "method": predictions["method"].iloc[0],
            "metric": list(metrics),
            "value": [math.nan if value is None else value for value in metrics.values()],
        }
    )


def score_folds(
    predictions: DataFrame, fractions: list[float], interval_level: float, unit: str = "h3"
) -> DataFrame:
    """Return one row per fold, method and metric (PAI, PEI*, hit rate, MAE, coverage).

    With ``unit`` region the ``h3_cell`` column contains region codes and PAI is left out.
    """
    fractions = list(fractions)

    def score_group(group):
        return _score_group(group, fractions, interval_level, unit)

    return predictions.groupBy("fold", "method").applyInPandas(score_group, SCORE_SCHEMA)


def add_conformal_intervals(
    model_rows: pd.DataFrame, level: float
) -> tuple[pd.DataFrame, float | None, float | None]:
    """Replace the model's Poisson bounds with split-conformal ones where calibration allows.

    Evaluation folds (1, 2, ...) get the quantile of the tuning folds (0, -1, ...), so the
    reported coverage is measured on weeks the calibration never saw. Returns the rows,
    that quantile and the quantile of all folds, which the final forecast uses. Without
    tuning folds the Poisson bounds stay and the first quantile is None.
    """
    from models.intervals import conformal_interval, conformal_quantile, pearson_scores

    rows = model_rows.copy()
    residuals = pearson_scores(rows["actual"], rows["score"])
    tuning = (rows["fold"] <= 0).to_numpy()
    evaluation_quantile = None
    if tuning.any():
        evaluation_quantile = conformal_quantile(residuals[tuning], level)
        lower, upper = conformal_interval(rows["score"], evaluation_quantile)
        rows["lower"] = lower
        rows["upper"] = upper
    final_quantile = conformal_quantile(residuals, level) if len(rows) else None
    return rows, evaluation_quantile, final_quantile


def coordinate_predictions(
    events: DataFrame,
    folds: DataFrame,
    test_rows: DataFrame,
    cells: list[str],
    resolution: int,
    bandwidths_m: tuple[float, ...],
    prospective,
) -> DataFrame:
    """Return the KDE (every bandwidth) and prospective hot-spot scores of each fold's week.

    ``events`` has ``lat``, ``lon`` and ``week_index``; ``test_rows`` has each fold's
    evaluation rows (``fold``, ``h3_cell``, ``week_start``, ``count``). The result has the
    columns of PREDICTION_SCHEMA plus ``bandwidth_m`` (null for the prospective hot spot).
    """
    from pyspark.sql import functions as F

    from models.spatial_baselines import study_cell_points

    points = study_cell_points(cells)
    cells = list(cells)
    bandwidths_m = tuple(bandwidths_m)

    def score_fold(group):
        import pandas as pd

        from models.spatial_baselines import (
            KDE_METHOD,
            PROSPECTIVE_METHOD,
            kde_scores,
            prospective_scores,
        )

        fold = int(group["fold"].iloc[0])
        week_index = int(group["eval_week_index"].iloc[0])
        past = group.dropna(subset=["lat", "lon"])
        kde = kde_scores(past, points, week_index, bandwidths_m).assign(method=KDE_METHOD)
        hotspot = prospective_scores(past, cells, resolution, week_index, prospective).assign(
            method=PROSPECTIVE_METHOD, bandwidth_m=math.nan
        )
        frame = pd.concat([kde, hotspot], ignore_index=True).assign(fold=fold)
        return frame[["fold", "method", "bandwidth_m", "h3_cell", "score"]]

    # NOTE: each fold's group contains every earlier incident, so memory grows with incidents
    # times folds. That is fine for the real tables (85,530 Houston incidents) but not
    # checked at the 10-million-incident scale of bench/forecast.py.
    # One row without coordinates per fold, so that a fold with no earlier incidents still
    # forms a group and gets zero scores.
    markers = folds.select(
        "fold",
        "eval_week_index",
        F.lit(None).cast("double").alias("lat"),
        F.lit(None).cast("double").alias("lon"),
        F.lit(None).cast("int").alias("week_index"),
    )
    past_events = (
        events.join(folds, on=events["week_index"] < folds["eval_week_index"], how="inner")
        .select("fold", "eval_week_index", "lat", "lon", "week_index")
        .unionByName(markers)
    )
    scores = past_events.groupBy("fold").applyInPandas(
        score_fold, "fold int, method string, bandwidth_m double, h3_cell string, score double"
    )
    actual = test_rows.select("fold", "h3_cell", "week_start", F.col("count").alias("actual"))
    return scores.join(actual, on=["fold", "h3_cell"], how="inner").select(
        "fold",
        "method",
        "h3_cell",
        "week_start",
        "actual",
        "score",
        F.lit(None).cast("double").alias("lower"),
        F.lit(None).cast("double").alias("upper"),
        "bandwidth_m",
    )


def summarise(scores: pd.DataFrame) -> dict[str, float]:
    """Average each method's metrics over the folds: ``{method}_{metric}`` -> mean.

    Folds where a metric is NaN (no incidents that week) are left out of its mean.
    """
    means = scores.groupby(["method", "metric"])["value"].mean()
    return {f"{method}_{metric}": float(value) for (method, metric), value in means.items()}
