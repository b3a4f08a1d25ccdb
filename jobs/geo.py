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

    The lists are those of ``latlng_to_cell_arrays``, which documents how they are made.
    """
    arrays = latlng_to_cell_arrays(lat, lon, resolutions)
    return {resolution: cells.to_pylist() for resolution, cells in arrays.items()}


def latlng_to_cell_arrays(
    lat: np.ndarray, lon: np.ndarray, resolutions: tuple[int, ...] = (7, 8, 9)
):
    """Return the H3 cell of every point at each resolution as Arrow string arrays.

    The finest resolution indexes the point, and the coarser cells are that cell's parents,
    so the resolutions of one row always roll up. H3 cells do not nest exactly, so near a
    cell edge a parent can differ from indexing the point at the coarser resolution.
    Each distinct point is indexed once: agency records repeat the same geocoded addresses.
    """
    import pandas as pd
    from h3.api import basic_int

    from jobs.ingest.arrow_text import hex_strings

    finest = max(resolutions)
    # Number each distinct (lat, lon) pair with hash-based factorize, which is cheaper
    # than sorting the pairs.
    lat_codes, lat_values = pd.factorize(np.asarray(lat, dtype="float64"), use_na_sentinel=False)
    lon_codes, lon_values = pd.factorize(np.asarray(lon, dtype="float64"), use_na_sentinel=False)
    pairs = lat_codes.astype(np.int64) * len(lon_values) + lon_codes
    point_index, distinct_pairs = pd.factorize(pairs)
    distinct_lat = lat_values[distinct_pairs // max(len(lon_values), 1)]
    distinct_lon = lon_values[distinct_pairs % max(len(lon_values), 1)]
    distinct_fine = np.fromiter(
        map(
            basic_int.latlng_to_cell,
            distinct_lat.tolist(),
            distinct_lon.tolist(),
            [finest] * len(distinct_lat),
        ),
        dtype=np.uint64,
        count=len(distinct_lat),
    )
    fine = distinct_fine[point_index]
    # An H3 cell id is 15 hex digits: its leading hex digit of 16 is always zero.
    return {
        resolution: hex_strings(cell_to_parent(fine, resolution, finest), 15)
        for resolution in resolutions
    }


def cell_to_parent(cells: np.ndarray, resolution: int, cell_resolution: int) -> np.ndarray:
    """Return the parents at ``resolution`` of H3 cells (uint64) of ``cell_resolution``.

    This is h3's cellToParent on arrays. An H3 cell id keeps its resolution in bits 52-55
    and one 3-bit digit per resolution r in bits 3 * (15 - r) and up. The digits finer
    than the cell's resolution are all ones. The parent has the coarser resolution in
    bits 52-55 and ones in the digits finer than it.
    """
    if resolution == cell_resolution:
        return cells
    if not 0 <= resolution < cell_resolution <= 15:
        raise ValueError(f"no parent at resolution {resolution} of cells at {cell_resolution}")
    resolution_mask = np.uint64(0xF << 52)
    unused_digits = np.uint64((1 << (3 * (15 - resolution))) - 1)
    return (cells & ~resolution_mask) | np.uint64(resolution << 52) | unused_digits
