"""Reprojection and H3 assignment against values fixed outside this project."""

import h3
import numpy as np
import pytest

from jobs.geo import latlng_to_cells, to_wgs84


def test_oregon_north_origin_maps_to_projection_origin():
    # EPSG:2913 (NAD83(HARN) / Oregon North, international feet) puts its false easting
    # of 2,500,000 m = 8,202,099.738 ft at 120°30'W on the latitude of origin 43°40'N.
    # The NAD83(HARN) -> WGS84 datum shift moves it by about a metre, hence 1e-4 degrees.
    lon, lat = to_wgs84(np.array([8202099.738]), np.array([0.0]), "EPSG:2913")
    assert lon[0] == pytest.approx(-120.5, abs=1e-4)
    assert lat[0] == pytest.approx(43 + 40 / 60, abs=1e-4)


def test_portland_point_lands_in_portland():
    # A call from the Portland data set (x=7660085 ft, y=672910 ft) lies in the city.
    lon, lat = to_wgs84(np.array([7660085.0]), np.array([672910.0]), "EPSG:2913")
    assert -122.9 < lon[0] < -122.4
    assert 45.4 < lat[0] < 45.7


def test_wgs84_passes_through_unchanged():
    lon, lat = to_wgs84(np.array([-95.4]), np.array([29.7]), "EPSG:4326")
    assert lon[0] == -95.4
    assert lat[0] == 29.7


def test_nan_coordinates_stay_nan():
    lon, lat = to_wgs84(np.array([np.nan]), np.array([672910.0]), "EPSG:2913")
    assert np.isnan(lon[0])


def test_h3_cell_matches_documented_example():
    # h3-py's documentation indexes this San Francisco point at resolution 9.
    cells = latlng_to_cells(np.array([37.7752702151959]), np.array([-122.418307270836]))
    assert cells[9] == ["8928308280fffff"]


def test_h3_coarser_cells_are_parents():
    cells = latlng_to_cells(np.array([29.6779015]), np.array([-95.4373883]))
    for resolution in (7, 8):
        direct = h3.latlng_to_cell(29.6779015, -95.4373883, resolution)
        assert cells[resolution] == [direct]
        assert h3.get_resolution(cells[resolution][0]) == resolution


def test_h3_repeated_points_match_per_point_cells():
    import h3

    rng = np.random.default_rng(3)
    places_lat = rng.uniform(29.6, 29.9, 40)
    places_lon = rng.uniform(-95.6, -95.2, 40)
    pick = rng.integers(0, 40, 500)
    lat, lon = places_lat[pick], places_lon[pick]
    cells = latlng_to_cells(lat, lon)
    finest = [h3.latlng_to_cell(a, b, 9) for a, b in zip(lat, lon, strict=True)]
    assert cells[9] == finest
    for resolution in (7, 8):
        assert cells[resolution] == [h3.cell_to_parent(cell, resolution) for cell in finest]


def test_h3_no_points_gives_empty_lists():
    cells = latlng_to_cells(np.array([]), np.array([]))
    assert cells == {7: [], 8: [], 9: []}


def test_cell_to_parent_matches_h3_at_every_resolution():
    from h3.api import basic_int

    from jobs.geo import cell_to_parent

    rng = np.random.default_rng(11)
    lat = rng.uniform(-89.0, 89.0, 300)
    lon = rng.uniform(-179.0, 179.0, 300)
    cells = np.array(
        [basic_int.latlng_to_cell(a, b, 15) for a, b in zip(lat, lon, strict=True)],
        dtype=np.uint64,
    )
    for resolution in range(15):
        parents = cell_to_parent(cells, resolution, 15).tolist()
        expected = [basic_int.cell_to_parent(int(cell), resolution) for cell in cells]
        assert parents == expected, resolution
