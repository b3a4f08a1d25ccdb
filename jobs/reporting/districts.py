"""Area outlines for the report map, read from shapefiles and cut to the map extent."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from jobs.reporting.hexmap import LatLng

logger = logging.getLogger(__name__)

# Simplification tolerance in degrees (about 11 m of latitude): finer than a city-wide map
# at report size can show. It cuts the 60 Portland police districts from 11,578 to 2,639
# vertices.
SIMPLIFY_DEGREES = 0.0001


@dataclass(frozen=True)
class District:
    name: str
    # Boundary lines in (lat, lng) order, cut to the map extent, so they need not close.
    lines: list[list[LatLng]]
    # The DistrictLayer kind of the outline: district or region.
    kind: str = "district"


def read_districts(
    path: Path,
    name_field: str,
    bounds: tuple[float, float, float, float],
    crs: str | None = None,
) -> list[District]:
    """Read outlines from ``path``, reproject them to WGS84 and cut them to ``bounds``.

    ``bounds`` is (min_lat, min_lng, max_lat, max_lng). ``crs`` applies only when the file
    declares no CRS. Districts whose boundary misses ``bounds`` are left out.
    """
    import geopandas as gpd
    import shapely

    if not path.exists():
        raise FileNotFoundError(f"district file not found: {path}; fix district_layers")
    frame = gpd.read_file(path)
    if name_field not in frame.columns:
        raise KeyError(
            f"district file {path} has no column {name_field!r}; "
            f"its columns are {list(frame.columns)}"
        )
    if frame.crs is None:
        if crs is None:
            raise ValueError(f"district file {path} declares no CRS; set crs in district_layers")
        frame = frame.set_crs(crs)
    frame = frame.to_crs(4326)

    min_lat, min_lng, max_lat, max_lng = bounds
    districts = []
    for name, geometry in zip(frame[name_field], frame.geometry, strict=True):
        if geometry is None or geometry.is_empty:
            continue
        boundary = geometry.simplify(SIMPLIFY_DEGREES).boundary
        cut = shapely.clip_by_rect(boundary, min_lng, min_lat, max_lng, max_lat)
        lines = [
            [(lat, lng) for lng, lat in part.coords]
            for part in getattr(cut, "geoms", [cut])
            if not part.is_empty and len(part.coords) >= 2
        ]
        if lines:
            districts.append(District(name=str(name), lines=lines))
    logger.info("district outlines: %s of %s from %s", len(districts), len(frame), path)
    return districts
