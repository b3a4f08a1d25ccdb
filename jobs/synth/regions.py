"""Generated outlines of the 2022 regions, because the gazetteer has only centre points.

Each region is the union of the Voronoi cells of its gazetteer places, clipped to a
buffered convex hull of all places. A city of republican significance (Astana, Almaty,
Shymkent) has one place, so it gets a disc around that place instead, cut out of the
regions around it. The outlines depend only on the gazetteer, never on the seed, and
every place lies inside the outline of its own region. They are fake and do not follow
the real boundaries, which run along district borders.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from jobs.synth import geography
from jobs.synth.sqlite_out import FAKE_NOTICE

# The Voronoi cells are built in a plane where x is longitude times the cosine of this
# latitude, the middle of Kazakhstan, so that cells are not stretched east-west.
REFERENCE_LAT = 48.0
# Margin around the convex hull of all places, in degrees of latitude (about 55 km).
HULL_MARGIN_DEGREES = 0.5
# Radius of a city of republican significance, in degrees of latitude (about 22 km).
# It shrinks to half the distance to the nearest other place when that is closer.
CITY_RADIUS_DEGREES = 0.2
CITY_KIND = "city of republican significance"
# Coordinates are rounded to this grid, in degrees (about 1 m).
GRID_DEGREES = 1e-5
FILE_NAME = "kz_regions_2022.geojson"


def _to_plane(geometry):
    import shapely

    scale = math.cos(math.radians(REFERENCE_LAT))
    return shapely.transform(geometry, lambda xy: xy * np.array([scale, 1.0]))


def _from_plane(geometry):
    import shapely

    scale = math.cos(math.radians(REFERENCE_LAT))
    return shapely.transform(geometry, lambda xy: xy / np.array([scale, 1.0]))


def region_outlines(places: geography.Places) -> dict[str, object]:
    """Return region code -> shapely (Multi)Polygon in WGS84 lon/lat for every 2022 region.

    Raises:
        geography.GeographyError: a region of ``geography.REGIONS_2022`` has no place.
    """
    import shapely

    kinds = {code: kind for code, _, kind in geography.REGIONS_2022}
    regions = np.array(places.region)
    missing = sorted(set(kinds) - set(regions))
    if missing:
        raise geography.GeographyError(f"regions without a gazetteer place: {missing}")

    points = _to_plane(shapely.points(places.lon, places.lat))
    hull = shapely.convex_hull(shapely.multipoints(points)).buffer(HULL_MARGIN_DEGREES)
    is_city = np.array([kinds[code] == CITY_KIND for code in regions])

    # Cells of the non-city places cover the hull. voronoi_polygons returns the cells in
    # the order of the input points only with ordered=True.
    others = points[~is_city]
    cells = shapely.voronoi_polygons(shapely.multipoints(others), extend_to=hull, ordered=True)
    cell_list = np.array(shapely.get_parts(cells))
    outlines = {}
    for code in kinds:
        if kinds[code] == CITY_KIND:
            continue
        own = regions[~is_city] == code
        outlines[code] = shapely.intersection(shapely.union_all(cell_list[own]), hull)

    for index in np.flatnonzero(is_city):
        code = regions[index]
        nearest = shapely.distance(points[index], others).min()
        disc = points[index].buffer(min(CITY_RADIUS_DEGREES, nearest / 2), quad_segs=16)
        outlines[code] = disc
        for other in list(outlines):
            if other != code and kinds[other] != CITY_KIND:
                outlines[other] = shapely.difference(outlines[other], disc)

    return {
        code: shapely.set_precision(_from_plane(outlines[code]), GRID_DEGREES) for code in kinds
    }


def write_region_outlines(places: geography.Places, folder: Path, seed: int) -> dict[str, int]:
    """Write ``folder/kz_regions_2022.geojson`` with one feature per 2022 region.

    Returns the file name -> feature count, as the other dump writers do.
    """
    import shapely

    names = {code: name for code, name, _ in geography.REGIONS_2022}
    kinds = {code: kind for code, _, kind in geography.REGIONS_2022}
    counts = {code: 0 for code in names}
    for code in places.region:
        counts[code] += 1
    features = [
        {
            "type": "Feature",
            "properties": {
                "region_code": code,
                "region_name": names[code],
                "region_kind": kinds[code],
                "place_count": counts[code],
            },
            "geometry": json.loads(shapely.to_geojson(outline)),
        }
        for code, outline in region_outlines(places).items()
    ]
    collection = {
        "type": "FeatureCollection",
        "metadata": {
            "fake": True,
            "notice": FAKE_NOTICE + "; region outlines are generated, not real boundaries",
            "seed": seed,
        },
        "features": features,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FILE_NAME).write_text(
        json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )
    return {f"regions/{FILE_NAME}": len(features)}
