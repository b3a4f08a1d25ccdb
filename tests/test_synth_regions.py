"""Generated outlines of the 2022 regions of the synthetic Kazakhstan."""

from __future__ import annotations

import json

import pytest

from jobs.settings import PROJECT_ROOT
from jobs.synth import geography, regions

REAL_DATA = PROJECT_ROOT.parent / "shared" / "data" / "real"

pytestmark = pytest.mark.skipif(
    not (REAL_DATA / "kz_places.csv.gz").exists(), reason="gazetteer kz_places.csv.gz missing"
)


@pytest.fixture(scope="module")
def places() -> geography.Places:
    return geography.read_places(REAL_DATA, {}, 1000)


@pytest.fixture(scope="module")
def outline_file(places, tmp_path_factory):
    folder = tmp_path_factory.mktemp("regions")
    counts = regions.write_region_outlines(places, folder, seed=7)
    assert counts == {"regions/kz_regions_2022.geojson": 20}
    return folder / regions.FILE_NAME


def test_outlines_cover_every_2022_region(outline_file):
    import pyogrio

    frame = pyogrio.read_dataframe(outline_file)
    expected = [code for code, _, _ in geography.REGIONS_2022]
    assert sorted(frame["region_code"]) == sorted(expected)
    assert frame.crs.to_epsg() == 4326
    assert frame.geometry.is_valid.all()
    assert not frame.geometry.is_empty.any()


def test_every_place_inside_its_region(places):
    import shapely

    outlines = regions.region_outlines(places)
    points = shapely.points(places.lon, places.lat)
    outside = [
        (name, code)
        for name, code, point in zip(places.name, places.region, points, strict=True)
        if not outlines[code].contains(point)
    ]
    assert outside == []


def test_outlines_do_not_overlap(places):
    import shapely

    outlines = list(regions.region_outlines(places).values())
    total = sum(outline.area for outline in outlines)
    union = shapely.union_all(outlines).area
    # Rounding to the 1 m grid leaves slivers far below one square degree.
    assert union == pytest.approx(total, abs=1e-4)


def test_cities_are_small_discs(places):
    outlines = regions.region_outlines(places)
    for code in ("AST", "ALA", "SHY"):
        bounds = outlines[code].bounds
        assert bounds[3] - bounds[1] <= 2 * regions.CITY_RADIUS_DEGREES + 1e-6


def test_file_marked_fake_and_repeatable(places, outline_file, tmp_path):
    collection = json.loads(outline_file.read_text(encoding="utf-8"))
    assert collection["metadata"]["fake"] is True
    assert "FAKE DATA" in collection["metadata"]["notice"]
    regions.write_region_outlines(places, tmp_path, seed=7)
    assert (tmp_path / regions.FILE_NAME).read_bytes() == outline_file.read_bytes()
