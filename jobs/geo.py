"""Coordinate reprojection and H3 cell assignment."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=16)
def _transformer(source_crs: str):
    from pyproj import Transformer

    return Transformer.from_crs(source_crs, "EPSG:4326", always_xy=True)


def to_wgs84(x: np.ndarray, y: np.ndarray, source_crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Reproject x/y arrays in ``source_crs`` to (lon, lat) in degrees; NaN stays NaN."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    if source_crs.upper() in ("EPSG:4326", "WGS84"):
        return x, y
    lon, lat = _transformer(source_crs).transform(x, y)
    return np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")


def latlng_to_cells(
    lat: np.ndarray, lon: np.ndarray, resolutions: tuple[int, ...] = (7, 8, 9)
) -> dict[int, list[str]]:
    """Return the H3 cell of every point at each resolution, as h3 4 hex strings.

    The finest resolution is computed from the point and the coarser ones as its parents,
    which gives the same cells as indexing the point again and costs less.
    """
    import h3

    finest = max(resolutions)
    points = zip(lat.tolist(), lon.tolist(), strict=True)
    fine_cells = [h3.latlng_to_cell(a, b, finest) for a, b in points]
    cells = {finest: fine_cells}
    for resolution in resolutions:
        if resolution != finest:
            cells[resolution] = [h3.cell_to_parent(cell, resolution) for cell in fine_cells]
    return cells
