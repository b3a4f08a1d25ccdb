"""The Portland police districts, landed through the source catalogue and assigned to calls.

The real district shapefile and calls for service land through the real ingestion. The
checks compare the landed outlines with the shapefile's own attributes. They compare the
district of every call with a spatial join in the shapefile's CRS (EPSG:2913, feet) on
the calls' raw coordinates, which does not go through the landing's reprojection.
"""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from jobs.settings import PROJECT_ROOT

REAL_DATA = PROJECT_ROOT.parent / "shared" / "data" / "real"
DISTRICTS_ZIP = REAL_DATA / "portland_police_districts.zip"
SQUARE_KM_PER_SQUARE_MILE = 2.589988110336

needs_real_data = pytest.mark.skipif(
    not DISTRICTS_ZIP.exists() or not (REAL_DATA / "portland_cfs_2016_08.zip").exists(),
    reason="Portland district or calls-for-service files missing",
)

# Two unit squares that share the edge x = 1.
SQUARES = {
    "B": "POLYGON ((1 0, 2 0, 2 1, 1 1, 1 0))",
    "A": "POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))",
}


def test_assign_districts_inside_border_outside():
    from jobs.areas import assign_districts

    # (lat, lon): inside A, inside B, on the shared border, outside both.
    lat = [0.5, 0.5, 0.5, 5.0]
    lon = [0.5, 1.5, 1.0, 5.0]
    result = assign_districts(lat, lon, list(SQUARES.values()), list(SQUARES))
    assert result == ["A", "B", "A", None]


def test_incident_districts_empty_without_match(tmp_profile):
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    from jobs.areas import write_incident_districts

    silver = tmp_profile.lake / "silver"
    write_deltalake(
        str(silver / "portland_calls"),
        pa.table({"incident_id": ["1"], "lat": [5.0], "lon": [5.0]}),
    )
    write_deltalake(
        str(silver / "portland_districts"),
        pa.table({"DISTRICT": list(SQUARES), "geometry_wkt": list(SQUARES.values())}),
    )
    assert write_incident_districts(tmp_profile) == 0
    table = DeltaTable(str(silver / "incident_districts")).to_pyarrow_table()
    assert table.num_rows == 0
    assert table.column_names == ["source", "incident_id", "district", "_loaded_at"]


@pytest.fixture(scope="module")
def portland_lake(tmp_path_factory):
    """Land the Portland calls and districts and write the incident districts."""
    import sys

    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from conftest import write_profile

    from jobs.areas import write_incident_districts
    from jobs.ingest.run import ingest_source
    from jobs.seed import DUMPS, seed_portland
    from jobs.settings import load_profile

    root = tmp_path_factory.mktemp("districts")
    patch = pytest.MonkeyPatch()
    patch.setenv("BOLJAM_PROFILE_FILE", str(write_profile(root)))
    patch.setenv("BOLJAM_PSEUDONYM_KEY", "districts-key-" + "0" * 32)
    patch.delenv("BOLJAM_SOURCES", raising=False)
    try:
        profile = load_profile()
        seed_portland(REAL_DATA, profile.agency_dbs)
        landing = profile.landing / "districts"
        landing.mkdir(parents=True)
        shutil.copyfile(DISTRICTS_ZIP, landing / DUMPS["districts"])
        ingest_source("portland_calls")
        ingest_source("portland_districts")
        write_incident_districts(profile)
        yield profile
    finally:
        patch.undo()


def _silver(profile, name):
    from deltalake import DeltaTable

    return DeltaTable(str(profile.table_path("silver", name))).to_pandas()


@pytest.mark.integration
@needs_real_data
def test_sixty_districts_landed(portland_lake):
    districts = _silver(portland_lake, "portland_districts")
    assert len(districts) == 60
    assert districts["DISTRICT"].is_unique
    assert set(districts["PRECINCT"]) == {"NO", "CE", "EA"}


@pytest.mark.integration
@needs_real_data
def test_landing_again_adds_nothing(portland_lake):
    from jobs.ingest.run import ingest_source

    result = ingest_source("portland_districts")
    assert result["bronze"]["files"] == []
    assert len(_silver(portland_lake, "portland_districts")) == 60


@pytest.mark.integration
@needs_real_data
def test_district_areas_match_shapefile(portland_lake):
    import pandas as pd

    districts = _silver(portland_lake, "portland_districts")
    computed = pd.to_numeric(districts["geometry_area_km2"])
    # Shape_Area is in square miles, rounded to 0.01.
    stated = pd.to_numeric(districts["Shape_Area"]) * SQUARE_KM_PER_SQUARE_MILE
    tolerance = 0.005 * SQUARE_KM_PER_SQUARE_MILE + 0.005 * stated
    assert ((computed - stated).abs() <= tolerance).all()
    assert computed.sum() == pytest.approx(stated.sum(), rel=0.002)


@pytest.mark.integration
@needs_real_data
def test_outlines_in_wgs84_around_portland(portland_lake):
    import pandas as pd
    import shapely

    districts = _silver(portland_lake, "portland_districts")
    shapes = shapely.from_wkt(districts["geometry_wkt"].to_numpy())
    assert shapely.is_valid(shapes).all()
    # The bureau's outlines of 800 and 860 have rings that touch themselves.
    repaired = districts.loc[districts["geometry_repaired"] == "True", "DISTRICT"]
    assert sorted(repaired) == ["800", "860"]
    min_lon, min_lat, max_lon, max_lat = shapely.total_bounds(shapes)
    assert -123.0 < min_lon < max_lon < -122.3
    assert 45.3 < min_lat < max_lat < 45.8
    centroid_lat = pd.to_numeric(districts["geometry_centroid_lat"])
    assert centroid_lat.between(min_lat, max_lat).all()


@pytest.mark.integration
@needs_real_data
def test_calls_match_native_spatial_join(portland_lake):
    import geopandas as gpd
    import pandas as pd

    assigned = _silver(portland_lake, "incident_districts")
    calls = _silver(portland_lake, "portland_calls")
    with sqlite3.connect(portland_lake.agency_dbs / "portland_112.sqlite") as connection:
        raw = pd.read_sql_query(
            "select call_id, x_coordinate, y_coordinate from calls_for_service", connection
        )
    raw["call_id"] = raw["call_id"].astype(str)
    raw = raw[raw["call_id"].isin(calls["incident_id"])]
    points = gpd.GeoDataFrame(
        raw,
        geometry=gpd.points_from_xy(raw["x_coordinate"], raw["y_coordinate"]),
        crs="EPSG:2913",
    )
    outlines = gpd.read_file(f"zip://{DISTRICTS_ZIP}")[["DISTRICT", "geometry"]]
    joined = gpd.sjoin(points, outlines, predicate="within", how="inner")
    # A point on a shared border may match two districts, so such points are left out.
    joined = joined.drop_duplicates("call_id", keep=False)
    expected = dict(zip(joined["call_id"], joined["DISTRICT"], strict=True))
    actual = dict(zip(assigned["incident_id"], assigned["district"], strict=True))

    assert set(assigned["source"]) == {"portland_calls"}
    assert len(expected) > 30_000
    differing = sorted(key for key in expected if actual.get(key) != expected[key])
    # Reprojection and rounding move a point by far less than 0.5 ft (15 cm), so only a
    # call that close to a border may land in the other district.
    borders = outlines.set_index("DISTRICT").geometry.boundary
    located = points.set_index("call_id").geometry
    far = [key for key in differing if borders[expected[key]].distance(located[key]) > 0.5]
    assert far == []
    assert len(differing) <= 0.001 * len(expected)
