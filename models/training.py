"""LightGBM Poisson training, prediction intervals and per-cell explanations.

The functions take pandas frames, so Spark executors call them inside ``applyInPandas``
for the backtest folds and the driver calls them for the final model.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import lightgbm
    import pandas as pd


def feature_matrix(frame: pd.DataFrame, feature_columns: list[str]) -> pd.DataFrame:
    """Return the feature columns as float64, with missing history as NaN."""
    return frame[feature_columns].astype("float64")


def fit_booster(
    train: pd.DataFrame,
    feature_columns: list[str],
    params: dict,
    num_boost_round: int,
    zero_fraction: float = 1.0,
) -> lightgbm.Booster:
    """Fit a LightGBM booster on the ``count`` column of ``train``.

    Rows are sorted by cell and week first: bagging samples rows by position, and Spark
    returns the rows of a shuffle in an order that can change between runs and clusters.
    With ``zero_fraction`` below 1, only that random share of the zero-count rows is kept
    (seeded by ``params["seed"]``), each weighted 1 / ``zero_fraction``, so the weighted
    Poisson loss keeps its expected value.
    """
    import lightgbm

    if train.empty:
        raise ValueError("no training rows: the fold has no weeks before its evaluation week")
    if not 0 < zero_fraction <= 1:
        raise ValueError(f"zero_fraction must be in (0, 1], got {zero_fraction}")
    order = [column for column in ("h3_cell", "week_start") if column in train.columns]
    if order:
        train = train.sort_values(order, kind="stable")
    label = train["count"].to_numpy(dtype=float)
    weight = None
    if zero_fraction < 1:
        is_zero = label == 0
        rng = np.random.default_rng(params.get("seed", 0))
        keep = ~is_zero | (rng.random(len(label)) < zero_fraction)
        train = train[keep]
        label = label[keep]
        weight = np.where(is_zero[keep], 1.0 / zero_fraction, 1.0)
    dataset = lightgbm.Dataset(
        feature_matrix(train, feature_columns),
        label=label,
        weight=weight,
        free_raw_data=True,
    )
    return lightgbm.train(params, dataset, num_boost_round=num_boost_round)


def poisson_interval(mean: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the central ``level`` interval of a Poisson count with each predicted mean.

    The bounds are the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles, so they hold
    the count with probability at least ``level`` when the mean is right. Parameter
    uncertainty is not included, so the interval is narrower than a full predictive one.
    """
    from scipy.stats import poisson

    mean = np.clip(np.asarray(mean, dtype=float), 0.0, None)
    lower = poisson.ppf((1 - level) / 2, mean)
    upper = poisson.ppf((1 + level) / 2, mean)
    return lower.astype(float), upper.astype(float)


def top_contributions(
    booster: lightgbm.Booster,
    features: pd.DataFrame,
    feature_columns: list[str],
    top_n: int = 3,
) -> list[str]:
    """Return, per row, a JSON list of the ``top_n`` largest SHAP contributions by size.

    Contributions come from LightGBM ``pred_contrib`` and are on the log scale of the
    Poisson objective. Each entry is ``{"feature": name, "contribution": value}``.
    """
    contributions = booster.predict(feature_matrix(features, feature_columns), pred_contrib=True)
    # The last column is the expected value (bias), not a feature.
    per_feature = contributions[:, :-1]
    out = []
    for row in per_feature:
        order = np.lexsort((np.array(feature_columns), -np.abs(row)))[:top_n]
        out.append(
            json.dumps(
                [
                    {"feature": feature_columns[i], "contribution": round(float(row[i]), 6)}
                    for i in order
                ]
            )
        )
    return out
