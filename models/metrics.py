"""Hot-spot accuracy metrics: PAI, PEI* and hit rate over a ranked set of cells.

Every metric flags the top ``n`` cells of a score ranking, with
``n = max(1, floor(fraction * n_cells + 0.5))`` (round half up, so 2.5 cells flag 3).
Ranking sorts by score descending and breaks ties by cell id ascending. When no cell
ids are given, the position in the input breaks ties instead. The same rule ranks
forecasts in the gold table, so a report and its backtest flag the same cells.

PAI is the hit rate divided by the flagged share of the study area. PEI* divides the
incidents in the flagged cells by the maximum count in any ``n`` cells, so a
perfect ranking scores 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


class MetricInputError(ValueError):
    """Metric inputs have different lengths, are empty or contain invalid values."""


def fraction_label(fraction: float) -> str:
    """Return the metric-name suffix of a fraction: 0.01 -> ``1pct``, 0.025 -> ``2p5pct``."""
    return f"{fraction * 100:g}".replace(".", "p") + "pct"


def flagged_count(n_cells: int, fraction: float) -> int:
    """Return how many cells a hot-spot fraction flags: round half up, at least 1."""
    if n_cells < 1:
        raise MetricInputError(f"n_cells must be at least 1, got {n_cells}")
    if not 0 < fraction <= 1:
        raise MetricInputError(f"fraction must be in (0, 1], got {fraction}")
    return max(1, math.floor(fraction * n_cells + 0.5))


def rank_cells(pred_scores: Sequence[float], cell_ids: Sequence[str] | None = None) -> np.ndarray:
    """Return cell positions by score descending, ties by cell id (or position) ascending."""
    scores = np.asarray(pred_scores, dtype=float)
    if np.isnan(scores).any():
        raise MetricInputError("pred_scores contain NaN; fill or drop them before ranking")
    tie_key = np.arange(len(scores)) if cell_ids is None else np.asarray(cell_ids, dtype=str)
    if len(tie_key) != len(scores):
        raise MetricInputError(
            f"cell_ids has {len(tie_key)} values but pred_scores has {len(scores)}"
        )
    # np.lexsort sorts by the last key first: score (negated for descending), then tie key.
    return np.lexsort((tie_key, -scores))


def _top_hits(pred_scores, actual_counts, fraction, cell_ids) -> tuple[np.ndarray, float, int]:
    actual = np.asarray(actual_counts, dtype=float)
    if len(actual) != len(pred_scores):
        raise MetricInputError(
            f"actual_counts has {len(actual)} values but pred_scores has {len(pred_scores)}"
        )
    if len(actual) == 0:
        raise MetricInputError("no cells to score: pred_scores and actual_counts are empty")
    if (actual < 0).any():
        raise MetricInputError("actual_counts contain negative values")
    n = flagged_count(len(actual), fraction)
    flagged = rank_cells(pred_scores, cell_ids)[:n]
    return flagged, float(actual[flagged].sum()), n


def hit_rate(pred_scores, actual_counts, fraction: float, cell_ids=None) -> float:
    """Return the share of all incidents that fall in the flagged cells (NaN with no incidents)."""
    _, hits, _ = _top_hits(pred_scores, actual_counts, fraction, cell_ids)
    total = float(np.sum(actual_counts))
    return hits / total if total > 0 else math.nan


def pai(pred_scores, actual_counts, cell_area, fraction: float, cell_ids=None) -> float:
    """Return the Predictive Accuracy Index: hit rate divided by the flagged share of the area.

    ``cell_area`` is one area for all cells (equal-area grid) or one area per cell, in any
    unit. The result is NaN when no incidents occurred.
    """
    flagged, hits, _ = _top_hits(pred_scores, actual_counts, fraction, cell_ids)
    total = float(np.sum(actual_counts))
    if total <= 0:
        return math.nan
    areas = np.broadcast_to(np.asarray(cell_area, dtype=float), (len(pred_scores),))
    if (areas <= 0).any():
        raise MetricInputError("cell_area must be positive")
    area_share = float(areas[flagged].sum()) / float(areas.sum())
    return (hits / total) / area_share


def pei_star(pred_scores, actual_counts, fraction: float, cell_ids=None) -> float:
    """Return PEI*: incidents in the flagged cells over the maximum count in any ``n`` cells.

    The result is in [0, 1], and NaN when no incidents occurred.
    """
    _, hits, n = _top_hits(pred_scores, actual_counts, fraction, cell_ids)
    best = float(np.sort(np.asarray(actual_counts, dtype=float))[::-1][:n].sum())
    return hits / best if best > 0 else math.nan


def mean_pei_star(rows, fraction: float) -> float:
    """Return the mean over folds of PEI* at ``fraction``, leaving out folds without incidents.

    ``rows`` is a pandas frame with ``fold``, ``h3_cell``, ``actual`` and ``score``. The
    result is NaN when no fold has incidents.
    """
    values = [
        pei_star(fold_rows["score"], fold_rows["actual"], fraction, fold_rows["h3_cell"])
        for _, fold_rows in rows.groupby("fold")
    ]
    finite = [value for value in values if not math.isnan(value)]
    return float(np.mean(finite)) if finite else math.nan
