"""Gi* per cell and week, a Mann-Kendall trend per cell, and the emerging hot spot classes.

The classes follow the pattern definitions of ArcGIS Pro's Emerging Hot Spot Analysis
("How Emerging Hot Spot Analysis works"). A week is a hot (cold) spot week of a cell when
the cell's Gi* z-score is positive (negative) and its two-sided p-value is below ``alpha``.
With ``n`` weeks and the final week last:

- new: hot in the final week and significant (hot or cold) in no earlier week;
- consecutive: a final run of at least two hot weeks, no significant week before the run,
  and fewer than 90% of the weeks hot;
- intensifying / diminishing: at least 90% of the weeks hot, the final week included, and a
  significant increasing / decreasing Mann-Kendall trend of the Gi* z-scores;
- persistent: at least 90% of the weeks hot, the final week included, and no significant
  trend;
- sporadic: hot in the final week, fewer than 90% of the weeks hot, never cold, and an
  earlier hot week outside the final run;
- oscillating: hot in the final week, fewer than 90% of the weeks hot, and cold in an
  earlier week;
- historical: not hot in the final week but hot in at least 90% of the weeks.

Cold-spot classes mirror these with the sign of z flipped. The final week decides the
family, so a cell cold in the final week gets a cold class even when it was once a
historical hot spot. ArcGIS's text leaves that overlap open. New and consecutive spots are
read more strictly than ArcGIS's text, as the R package sfdep reads them, so a cell once
cold and now hot is oscillating, not new.

NOTE: ArcGIS corrects the Gi* p-values for the false discovery rate and can add earlier
time steps to the neighbourhood. This module does neither: its neighbourhood is spatial
only and its p-values are uncorrected, so it flags more hot spot weeks on large grids.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import h3
import numpy as np

logger = logging.getLogger(__name__)

# Share of the weeks a cell must be a hot (cold) spot for the persistent-type classes.
PERSISTENT_SHARE = 0.9

NO_PATTERN = "no_pattern"


@dataclass(frozen=True)
class CellTrend:
    """The emerging hot spot result of one cell."""

    pattern: str
    trend_z: float
    trend_p: float
    hot_weeks: int
    cold_weeks: int


def ring_weights(cells: Sequence[str], k: int = 1):
    """Return binary libpysal weights linking each cell to the study cells within ``k`` rings.

    Neighbours outside ``cells`` are left out, so edge cells have fewer neighbours. The
    weights have no self-links, and G_Local adds the focal cell itself for Gi*.
    """
    from libpysal.weights import W

    if k < 1:
        raise ValueError(f"invalid k-ring size {k}: use 1 or more")
    study = set(cells)
    neighbours = {
        cell: sorted(other for other in h3.grid_disk(cell, k) if other != cell and other in study)
        for cell in cells
    }
    with warnings.catch_warnings():
        # Cells with no study neighbour are islands. Gi* still counts the cell itself.
        warnings.simplefilter("ignore", UserWarning)
        return W(neighbours, id_order=list(cells), silence_warnings=True)


def gi_star(counts: np.ndarray, weights) -> tuple[np.ndarray, np.ndarray]:
    """Return the Gi* z-scores and two-sided normal p-values of one week's counts.

    The analytical z is used, so results do not depend on a permutation seed. A week whose
    counts are all equal has no variance and so no defined z, and every cell of such a week
    gets z 0 and p 1.
    """
    from esda.getisord import G_Local

    counts = np.asarray(counts, dtype=float)
    if counts.size == 0 or np.all(counts == counts[0]):
        return np.zeros(counts.size), np.ones(counts.size)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        # libpysal warns that k-ring weights of a patchy study area are not fully connected.
        warnings.simplefilter("ignore", UserWarning)
        local = G_Local(counts, weights, transform="B", permutations=0, star=True)
    z = np.nan_to_num(np.asarray(local.Zs, dtype=float), nan=0.0)
    p = np.where(np.isfinite(local.Zs), 2 * np.asarray(local.p_norm, dtype=float), 1.0)
    return z, np.minimum(p, 1.0)


def mann_kendall(z_scores: Sequence[float], alpha: float) -> tuple[float, float]:
    """Return the Mann-Kendall z and p of a z-score series (z 0 and p 1 under three points)."""
    import pymannkendall

    if len(z_scores) < 3:
        return 0.0, 1.0
    result = pymannkendall.original_test(np.asarray(z_scores, dtype=float), alpha=alpha)
    trend_p = float(result.p)
    return float(result.z), trend_p if math.isfinite(trend_p) else 1.0


def classify(
    significant: Sequence[bool],
    opposite: Sequence[bool],
    trend_z: float,
    trend_p: float,
    alpha: float,
) -> str | None:
    """Return the class of one cell (``new``, ..., ``historical``), or None when it has none.

    ``significant`` flags the hot weeks, ``opposite`` the cold weeks, oldest first. For cold
    spots pass the cold weeks as ``significant`` and ``-trend_z``.
    """
    n = len(significant)
    if n == 0:
        return None
    hot_count = sum(significant)
    mostly_hot = hot_count >= PERSISTENT_SHARE * n
    if not significant[-1]:
        return "historical" if mostly_hot else None

    run = 0
    for flag in reversed(significant):
        if not flag:
            break
        run += 1
    earlier = range(n - run)
    quiet_before_run = not any(significant[i] or opposite[i] for i in earlier)

    if mostly_hot:
        if trend_p < alpha and trend_z > 0:
            return "intensifying"
        if trend_p < alpha and trend_z < 0:
            return "diminishing"
        return "persistent"
    if run == 1 and quiet_before_run:
        return "new"
    if run >= 2 and quiet_before_run:
        return "consecutive"
    if any(opposite[i] for i in earlier):
        return "oscillating"
    return "sporadic"


def classify_cell(z_scores: Sequence[float], p_values: Sequence[float], alpha: float) -> CellTrend:
    """Classify one cell from its weekly Gi* z-scores and p-values, oldest week first."""
    hot = [z > 0 and p < alpha for z, p in zip(z_scores, p_values, strict=True)]
    cold = [z < 0 and p < alpha for z, p in zip(z_scores, p_values, strict=True)]
    trend_z, trend_p = mann_kendall(z_scores, alpha)
    pattern = None
    if cold and cold[-1]:
        cold_class = classify(cold, hot, -trend_z, trend_p, alpha)
        pattern = f"{cold_class}_cold_spot" if cold_class else None
    else:
        hot_class = classify(hot, cold, trend_z, trend_p, alpha)
        if hot_class:
            pattern = f"{hot_class}_hot_spot"
        else:
            cold_class = classify(cold, hot, -trend_z, trend_p, alpha)
            pattern = f"{cold_class}_cold_spot" if cold_class else None
    return CellTrend(
        pattern=pattern or NO_PATTERN,
        trend_z=trend_z,
        trend_p=trend_p,
        hot_weeks=sum(hot),
        cold_weeks=sum(cold),
    )


def weekly_gi_star(panel, k: int = 1):
    """Return the Gi* z and p of every cell and week of a count panel.

    ``panel`` is a pandas DataFrame with one row per ``h3_cell`` and ``week_start`` and a
    ``count`` column. Missing cell-weeks count as zero. The result has the columns
    ``h3_cell``, ``week_start``, ``count``, ``gi_z`` and ``gi_p``, sorted by cell and week.
    """
    import pandas as pd

    counts = panel.pivot_table(
        index="h3_cell", columns="week_start", values="count", aggfunc="sum", fill_value=0
    ).sort_index()
    counts = counts[sorted(counts.columns)]
    cells = list(counts.index)
    weights = ring_weights(cells, k)
    frames = []
    for week in counts.columns:
        z, p = gi_star(counts[week].to_numpy(), weights)
        frames.append(
            pd.DataFrame(
                {
                    "h3_cell": cells,
                    "week_start": week,
                    "count": counts[week].to_numpy(),
                    "gi_z": z,
                    "gi_p": p,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["h3_cell", "week_start", "count", "gi_z", "gi_p"])
    return pd.concat(frames).sort_values(["h3_cell", "week_start"]).reset_index(drop=True)


def emerging_hotspots(panel, k: int = 1, alpha: float = 0.05):
    """Classify every cell of a count panel into an emerging hot spot class.

    Returns one row per cell with ``pattern``, ``trend_z``, ``trend_p``, ``last_gi_z``,
    ``last_gi_p``, ``hot_weeks``, ``cold_weeks``, ``weeks`` and ``last_week``.
    """
    import pandas as pd

    if not 0 < alpha < 1:
        raise ValueError(f"invalid significance level alpha={alpha}: use a value in (0, 1)")
    gi = weekly_gi_star(panel, k)
    rows = []
    for cell, series in gi.groupby("h3_cell", sort=True):
        result = classify_cell(list(series["gi_z"]), list(series["gi_p"]), alpha)
        last = series.iloc[-1]
        rows.append(
            {
                "h3_cell": cell,
                "pattern": result.pattern,
                "trend_z": result.trend_z,
                "trend_p": result.trend_p,
                "last_gi_z": float(last["gi_z"]),
                "last_gi_p": float(last["gi_p"]),
                "hot_weeks": result.hot_weeks,
                "cold_weeks": result.cold_weeks,
                "weeks": len(series),
                "last_week": last["week_start"],
            }
        )
    logger.info("classified %s cells over %s weeks", len(rows), gi["week_start"].nunique())
    return pd.DataFrame(rows)
