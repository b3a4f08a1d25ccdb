"""Baselines that score study cells from the coordinates of earlier incidents.

Both take the incidents of the weeks before the scored week ``t`` (``week_index < t``) and
return one score per study cell, scaled to an expected count for the week:

* ``baseline_kde``: a Gaussian kernel density estimate of all earlier incidents. A cell's
  density is the mean of the density at the centroids of its seven children one H3
  resolution finer, which approximates the integral over the cell. The score is that
  density times the cell area times the mean weekly number of incidents. Each incident's
  kernel is cut off at ``KDE_CUTOFF_BANDWIDTHS`` bandwidths (the cut keeps 98.9% of a 2D
  Gaussian's mass). The bandwidth is chosen on tuning folds before the evaluation window.
* ``baseline_prospective_hotspot``: prospective hot-spotting as proposed by Bowers, Johnson
  and Pease (2004), with this project's parameters. Incidents are placed on a fine H3 grid
  (``FINE_RESOLUTION_STEP`` resolutions finer than the study grid). Each incident of the
  last ``weeks`` weeks adds ``1 / (1 + k) * 1 / (1 + w)`` to every fine cell at grid
  distance ``k`` within ``band_m`` metres, where ``w`` is the number of weeks between the
  incident's week and week ``t - 1`` (0 for the week just before). A study cell's score is
  the sum over its fine children, scaled so that the scores of all study cells add up to
  the mean weekly number of incidents in the window.

The functions take pandas frames, so Spark executors call them inside ``applyInPandas``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

KDE_METHOD = "baseline_kde"
PROSPECTIVE_METHOD = "baseline_prospective_hotspot"
# Candidate KDE bandwidths in metres. Resolution-8 cells have edges of about 530 m on average.
KDE_BANDWIDTHS_M = (100.0, 200.0, 400.0, 800.0)
KDE_CUTOFF_BANDWIDTHS = 3.0
FINE_RESOLUTION_STEP = 2
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class ProspectiveSettings:
    """Parameters of the prospective hot-spot baseline: distance band and time window."""

    band_m: float = 400.0
    weeks: int = 8


def study_cell_points(cells: list[str]) -> pd.DataFrame:
    """Return, per study cell, the centroids of its children one resolution finer and its area.

    Columns: ``h3_cell``, ``lat``, ``lon`` (one row per child centroid) and ``area_km2``.
    """
    import h3
    import pandas as pd

    rows = []
    for cell in cells:
        area = h3.cell_area(cell, unit="km^2")
        resolution = h3.get_resolution(cell)
        for child in h3.cell_to_children(cell, min(resolution + 1, 15)):
            lat, lon = h3.cell_to_latlng(child)
            rows.append((cell, lat, lon, area))
    return pd.DataFrame(rows, columns=["h3_cell", "lat", "lon", "area_km2"])


def _project_km(lat: np.ndarray, lon: np.ndarray, origin_lat: float) -> np.ndarray:
    """Project WGS84 points to a local equirectangular plane in km (accurate over a city)."""
    x = EARTH_RADIUS_KM * np.radians(lon) * math.cos(math.radians(origin_lat))
    y = EARTH_RADIUS_KM * np.radians(lat)
    return np.column_stack([x, y])


def kde_scores(
    events: pd.DataFrame,
    points: pd.DataFrame,
    week_index: int,
    bandwidths_m: tuple[float, ...] = KDE_BANDWIDTHS_M,
) -> pd.DataFrame:
    """Return the KDE score of every study cell for week ``week_index``, per bandwidth.

    ``events`` has ``lat``, ``lon`` and ``week_index`` columns; only events of weeks 0 to
    ``week_index - 1`` count. ``points`` comes from :func:`study_cell_points`. The result
    has ``h3_cell``, ``bandwidth_m`` and ``score`` (expected incidents in the week).
    """
    import pandas as pd
    from scipy.spatial import cKDTree

    cells = points["h3_cell"].drop_duplicates().to_list()
    past = events[(events["week_index"] >= 0) & (events["week_index"] < week_index)]
    if past.empty or week_index < 1:
        return pd.DataFrame(
            {
                "h3_cell": np.repeat(cells, len(bandwidths_m)),
                "bandwidth_m": np.tile(np.asarray(bandwidths_m, dtype=float), len(cells)),
                "score": 0.0,
            }
        )
    # Many incidents share coordinates (block-level geocoding), so weight unique points.
    unique = past.groupby(["lat", "lon"]).size().rename("weight").reset_index()
    origin_lat = float(points["lat"].mean())
    event_xy = _project_km(unique["lat"].to_numpy(), unique["lon"].to_numpy(), origin_lat)
    point_xy = _project_km(points["lat"].to_numpy(), points["lon"].to_numpy(), origin_lat)
    weights = unique["weight"].to_numpy(dtype=float)
    point_tree = cKDTree(point_xy)
    event_tree = cKDTree(event_xy)
    frames = []
    for bandwidth_m in bandwidths_m:
        h = bandwidth_m / 1000.0
        pairs = point_tree.sparse_distance_matrix(
            event_tree, KDE_CUTOFF_BANDWIDTHS * h, output_type="coo_matrix"
        )
        kernel = np.exp(-0.5 * (pairs.data / h) ** 2) / (2 * math.pi * h * h)
        density = np.bincount(pairs.row, weights=kernel * weights[pairs.col], minlength=len(points))
        # Density per km² of one week's incidents at each child centroid.
        per_point = pd.DataFrame(
            {"h3_cell": points["h3_cell"], "value": density / week_index * points["area_km2"]}
        )
        score = per_point.groupby("h3_cell", sort=False)["value"].mean()
        frames.append(
            pd.DataFrame(
                {
                    "h3_cell": score.index.to_numpy(),
                    "bandwidth_m": bandwidth_m,
                    "score": score.to_numpy(dtype=float),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def fine_grid_steps(resolution: int, band_m: float) -> tuple[int, int]:
    """Return the fine H3 resolution and the grid distance that ``band_m`` metres spans on it.

    Centres of neighbouring hexagons lie sqrt(3) edge lengths apart, so ``k`` steps cover
    about ``k * sqrt(3) * edge`` metres. The distance is rounded down and at least 0.
    """
    import h3

    fine = min(resolution + FINE_RESOLUTION_STEP, 15)
    spacing_m = math.sqrt(3) * h3.average_hexagon_edge_length(fine, unit="m")
    return fine, max(0, math.floor(band_m / spacing_m))


def prospective_surface(
    events: pd.DataFrame,
    cells: list[str],
    resolution: int,
    week_index: int,
    settings: ProspectiveSettings = ProspectiveSettings(),
) -> np.ndarray:
    """Return the unscaled prospective hot-spot sum of every cell of ``cells``, in order.

    Only events of weeks ``week_index - settings.weeks`` to ``week_index - 1`` count.
    """
    import h3
    import pandas as pd

    first_week = week_index - settings.weeks
    recent = events[(events["week_index"] >= first_week) & (events["week_index"] < week_index)]
    totals = dict.fromkeys(cells, 0.0)
    if recent.empty:
        return np.zeros(len(cells))
    fine, max_steps = fine_grid_steps(resolution, settings.band_m)
    fine_cells = [
        h3.latlng_to_cell(lat, lon, fine)
        for lat, lon in zip(recent["lat"].to_numpy(), recent["lon"].to_numpy(), strict=True)
    ]
    weeks_ago = (week_index - 1) - recent["week_index"].to_numpy()
    by_fine_cell = (
        pd.DataFrame({"fine_cell": fine_cells, "weight": 1.0 / (1.0 + weeks_ago)})
        .groupby("fine_cell")["weight"]
        .sum()
    )
    for origin, weight in by_fine_cell.items():
        for steps in range(max_steps + 1):
            contribution = weight / (1.0 + steps)
            for fine_cell in h3.grid_ring(origin, steps):
                parent = h3.cell_to_parent(fine_cell, resolution)
                if parent in totals:
                    totals[parent] += contribution
    return np.array([totals[cell] for cell in cells], dtype=float)


def prospective_scores(
    events: pd.DataFrame,
    cells: list[str],
    resolution: int,
    week_index: int,
    settings: ProspectiveSettings = ProspectiveSettings(),
) -> pd.DataFrame:
    """Return the prospective hot-spot score of every study cell for week ``week_index``.

    ``events`` has ``lat``, ``lon`` and ``week_index`` columns. The result has ``h3_cell``
    and ``score``. Scores add up to the mean weekly number of incidents in the window, and
    cells that no recent incident reaches score 0.
    """
    import pandas as pd

    raw = prospective_surface(events, cells, resolution, week_index, settings)
    first_week = week_index - settings.weeks
    in_window = (events["week_index"] >= first_week) & (events["week_index"] < week_index)
    # Early weeks have fewer than settings.weeks earlier weeks.
    window_weeks = max(1, min(settings.weeks, week_index))
    mean_weekly = int(in_window.sum()) / window_weeks
    scale = mean_weekly / raw.sum() if raw.sum() > 0 else 0.0
    return pd.DataFrame({"h3_cell": cells, "score": raw * scale})


def choose_bandwidth(
    tuning: pd.DataFrame, fraction: float, default_m: float
) -> tuple[float, dict[float, float]]:
    """Return the KDE bandwidth with the highest mean PEI* at ``fraction`` on tuning folds.

    ``tuning`` has ``fold``, ``bandwidth_m``, ``h3_cell``, ``actual`` and ``score``. Ties go
    to the smaller bandwidth. Folds without incidents are left out of the mean. Returns
    ``default_m`` and an empty mapping when there are no tuning rows, else the choice and
    the mean PEI* of every bandwidth.
    """
    from models.metrics import mean_pei_star

    if tuning.empty:
        return default_m, {}
    means = {
        float(bandwidth): mean_pei_star(rows, fraction)
        for bandwidth, rows in tuning.groupby("bandwidth_m")
    }
    ranked = sorted(
        (bandwidth for bandwidth in means if not math.isnan(means[bandwidth])),
        key=lambda bandwidth: (-means[bandwidth], bandwidth),
    )
    return (ranked[0] if ranked else default_m), means
