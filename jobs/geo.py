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

    The finest resolution indexes the point, and the coarser cells are that cell's parents,
    so the resolutions of one row always roll up. H3 cells do not nest exactly, so near a
    cell edge a parent can differ from indexing the point at the coarser resolution.
    Each distinct point and each distinct fine cell is computed once: agency records repeat
    the same geocoded addresses.
    """
    import h3
    import pandas as pd

    finest = max(resolutions)
    # Number each distinct (lat, lon) pair with hash-based factorize, which is cheaper
    # than sorting the pairs.
    lat_codes, lat_values = pd.factorize(np.asarray(lat, dtype="float64"), use_na_sentinel=False)
    lon_codes, lon_values = pd.factorize(np.asarray(lon, dtype="float64"), use_na_sentinel=False)
    pairs = lat_codes.astype(np.int64) * len(lon_values) + lon_codes
    point_index, distinct_pairs = pd.factorize(pairs)
    distinct_lat = lat_values[distinct_pairs // max(len(lon_values), 1)]
    distinct_lon = lon_values[distinct_pairs % max(len(lon_values), 1)]
    distinct_fine = [
        h3.latlng_to_cell(a, b, finest)
        for a, b in zip(distinct_lat.tolist(), distinct_lon.tolist(), strict=True)
    ]
    fine_index, fine_cells = pd.factorize(np.array(distinct_fine, dtype=object))
    fine_index = fine_index[point_index]
    cells = {}
    for resolution in resolutions:
        if resolution == finest:
            per_cell = np.asarray(fine_cells, dtype=object)
        else:
            per_cell = np.array(
                [h3.cell_to_parent(cell, resolution) for cell in fine_cells], dtype=object
            )
        cells[resolution] = per_cell[fine_index].tolist()
    return cells
