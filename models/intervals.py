"""Split-conformal prediction intervals for Poisson-like count forecasts.

The nonconformity score of a cell-week is its absolute Pearson residual
``|y - mu| / sqrt(mu)``. On calibration folds (weeks before the ones the interval is for)
the interval half-width in Pearson units is the conformal quantile ``q`` of these
scores, and the interval of a new forecast is ``[max(0, mu - q sqrt(mu)), mu + q sqrt(mu)]``.
When calibration and new cell-weeks are exchangeable, the interval contains the count with
probability at least ``level`` over all cells (marginal coverage), not per cell.
"""

from __future__ import annotations

import math

import numpy as np

# Predicted means below this floor are raised to it, so a zero mean gives a finite score.
MIN_MEAN = 1e-6


def pearson_scores(actual, predicted) -> np.ndarray:
    """Return the absolute Pearson residuals ``|y - mu| / sqrt(mu)`` of count forecasts."""
    actual = np.asarray(actual, dtype=float)
    mean = np.clip(np.asarray(predicted, dtype=float), MIN_MEAN, None)
    return np.abs(actual - mean) / np.sqrt(mean)


def conformal_quantile(scores, level: float) -> float:
    """Return the split-conformal quantile: the ``ceil((n + 1) * level)``-th smallest score.

    Raises ValueError when there are no scores or ``level`` is not in (0, 1). The result is
    infinite when ``n`` is too small for the level (``ceil((n + 1) * level) > n``).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    values = np.sort(np.asarray(scores, dtype=float))
    n = len(values)
    if n == 0:
        raise ValueError("no calibration scores: the calibration folds are empty")
    rank = math.ceil((n + 1) * level)
    return math.inf if rank > n else float(values[rank - 1])


def conformal_interval(predicted, quantile: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the lower and upper bounds ``mu -/+ quantile * sqrt(mu)``, the lower clipped at 0."""
    mean = np.clip(np.asarray(predicted, dtype=float), 0.0, None)
    half_width = quantile * np.sqrt(mean)
    return np.clip(mean - half_width, 0.0, None), mean + half_width
