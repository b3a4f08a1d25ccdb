"""Geography of the synthetic world: 2022 regions, places, hotspot cells and road lines.

Places and region centres come from the gazetteer files ``kz_places.csv.gz`` and
``kz_regions.csv.gz``, which list the regions as they were before the 2022 reform. The
reform created Abai (from East Kazakhstan, centre Semey), Zhetisu (from Almaty region,
centre Taldykorgan) and Ulytau (from Karaganda region, centre Zhezkazgan), and Shymkent
became a city of republican significance. Here a place of a split region goes to the new
region when it is closer to the new centre than to the old one. The real boundaries
follow districts, so a few places near the line may be in the other region.
"""

from __future__ import annotations

import csv
import gzip
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EARTH_RADIUS_M = 6_371_000.0
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180.0

# (code, name, kind) of the 2022 regions. Codes of unchanged regions are the gazetteer's.
REGIONS_2022 = [
    ("AST", "Astana", "city of republican significance"),
    ("ALA", "Almaty", "city of republican significance"),
    ("SHY", "Shymkent", "city of republican significance"),
    ("ABA", "Abai", "region"),
    ("AKM", "Akmola", "region"),
    ("AKT", "Aktobe", "region"),
    ("ALM", "Almaty Region", "region"),
    ("ATY", "Atyrau", "region"),
    ("VOS", "East Kazakhstan", "region"),
    ("ZHA", "Jambyl", "region"),
    ("ZHT", "Zhetisu", "region"),
    ("KAR", "Karaganda", "region"),
    ("KUS", "Kostanay", "region"),
    ("KZY", "Kyzylorda", "region"),
    ("MAN", "Mangystau", "region"),
    ("SEV", "North Kazakhstan", "region"),
    ("PAV", "Pavlodar", "region"),
    ("YUZ", "Turkestan", "region"),
    ("ULT", "Ulytau", "region"),
    ("ZAP", "West Kazakhstan", "region"),
]
# Regions whose clocks ran at UTC+5 before 2024-03-01, when the rest of the country moved
# from UTC+6 to UTC+5 (tz database zones Asia/Aqtobe, Asia/Atyrau, Asia/Oral, Asia/Aqtau,
# Asia/Qyzylorda).
UTC5_BEFORE_2024 = {"AKT", "ATY", "ZAP", "MAN", "KZY"}
REGION_TIMEZONES = {
    "AKT": "Asia/Aqtobe",
    "ATY": "Asia/Atyrau",
    "ZAP": "Asia/Oral",
    "MAN": "Asia/Aqtau",
    "KZY": "Asia/Qyzylorda",
    "KUS": "Asia/Qostanay",
}
# (new region, old region, new centre, old centre) of the 2022 splits.
SPLITS = [
    ("ABA", "VOS", "Semey", "Ust-Kamenogorsk"),
    ("ZHT", "ALM", "Taldykorgan", "Kapshagay"),
    ("ULT", "KAR", "Zhezqazghan", "Karagandy"),
]
# Shymkent is missing from the gazetteer file; its centre point is added here.
SHYMKENT = ("SHY", "Shymkent", 42.3417, 69.5901)
# Baikonur is leased to Russia and its offences are not in Kazakhstan's registries.
EXCLUDED_REGIONS = {"BAY"}
RENAMED_PLACES = {"Nur-Sultan": "Astana"}


class GeographyError(ValueError):
    """The gazetteer files are missing or do not contain the expected places."""


@dataclass
class Places:
    """Settlements with their 2022 region and an approximate population."""

    name: list[str]
    region: list[str]
    lat: np.ndarray
    lon: np.ndarray
    population: np.ndarray


def haversine_m(lat1, lon1, lat2, lon2):
    """Great-circle distance in metres (numpy broadcasting)."""
    lat1, lon1, lat2, lon2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))


def read_places(real_dir: Path, populations: dict[str, int], default_population: int) -> Places:
    """Read the gazetteer and assign every place to its 2022 region."""
    path = real_dir / "kz_places.csv.gz"
    if not path.exists():
        raise GeographyError(f"gazetteer not found: {path}; set BOLJAM_REAL_DATA or --real-data")
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["region_code"] not in EXCLUDED_REGIONS]
    names = [RENAMED_PLACES.get(row["place_name"], row["place_name"]) for row in rows]
    regions = [row["region_code"] for row in rows]
    lat = np.array([float(row["latitude"]) for row in rows])
    lon = np.array([float(row["longitude"]) for row in rows])
    names.append(SHYMKENT[1])
    regions.append(SHYMKENT[0])
    lat = np.append(lat, SHYMKENT[2])
    lon = np.append(lon, SHYMKENT[3])

    position = {name: i for i, name in enumerate(names)}
    for new_code, old_code, new_centre, old_centre in SPLITS:
        for centre in (new_centre, old_centre):
            if centre not in position:
                raise GeographyError(f"place {centre!r} not found in {path}")
        i, j = position[new_centre], position[old_centre]
        for k, code in enumerate(regions):
            if code != old_code:
                continue
            to_new = haversine_m(lat[k], lon[k], lat[i], lon[i])
            to_old = haversine_m(lat[k], lon[k], lat[j], lon[j])
            if to_new < to_old:
                regions[k] = new_code
    population = np.array([populations.get(name, default_population) for name in names])
    return Places(name=names, region=regions, lat=lat, lon=lon, population=population)


def offset_points(lat, lon, east_m, north_m):
    """Move points by metre offsets (equirectangular, good to well under 1% at city scale)."""
    new_lat = lat + north_m / METRES_PER_DEGREE
    new_lon = lon + east_m / (METRES_PER_DEGREE * np.cos(np.radians(lat)))
    return new_lat, new_lon


@dataclass
class Hotspots:
    """Gaussian hotspots: centre, spread in metres and the index of their place."""

    lat: np.ndarray
    lon: np.ndarray
    sigma_m: np.ndarray
    place: np.ndarray


def draw_hotspots(rng: np.random.Generator, places: Places, settings) -> Hotspots:
    """Place 1 + population / people_per_hotspot hotspots in and around every settlement."""
    counts = np.minimum(
        1 + places.population // settings.people_per_hotspot, settings.max_hotspots
    ).astype(int)
    place = np.repeat(np.arange(len(places.name)), counts)
    radius = settings.city_radius_m_per_sqrt_person * np.sqrt(places.population[place])
    distance = radius * np.sqrt(rng.random(len(place)))
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    distance[first] = 0.0
    angle = rng.random(len(place)) * 2 * np.pi
    lat, lon = offset_points(
        places.lat[place], places.lon[place], distance * np.cos(angle), distance * np.sin(angle)
    )
    low, high = settings.hotspot_sigma_m
    sigma = rng.uniform(low, high, size=len(place))
    return Hotspots(lat=lat, lon=lon, sigma_m=sigma, place=place)


@dataclass
class CellGrid:
    """H3 cells that carry probability mass, with the point-sampling radius of each."""

    cells: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    inner_radius_m: np.ndarray
    place: np.ndarray
    region: np.ndarray

    def __len__(self) -> int:
        return len(self.cells)


def inner_radii_m(cells: list[str], centres: np.ndarray) -> np.ndarray:
    """Radius of a disc around each cell centre that lies inside the cell (5% margin)."""
    import h3

    vertices = np.full((len(cells), 6, 2), np.nan)
    for k, cell in enumerate(cells):
        boundary = h3.cell_to_boundary(cell)
        vertices[k, : len(boundary)] = boundary[:6]
    distances = haversine_m(
        centres[:, None, 0], centres[:, None, 1], vertices[:, :, 0], vertices[:, :, 1]
    )
    # The inscribed circle of a regular hexagon has cos(30 deg) times its vertex radius.
    return np.nanmin(distances, axis=1) * math.cos(math.pi / 6) * 0.95


def nearest_place(lat: np.ndarray, lon: np.ndarray, places: Places) -> np.ndarray:
    """Index of the nearest place to every point, in chunks to bound memory."""
    result = np.empty(len(lat), dtype=np.int64)
    for start in range(0, len(lat), 4096):
        stop = start + 4096
        distance = haversine_m(
            lat[start:stop, None], lon[start:stop, None], places.lat[None, :], places.lon[None, :]
        )
        result[start:stop] = np.argmin(distance, axis=1)
    return result


def build_grid(cells: list[str], cell_place: list[int], places: Places) -> CellGrid:
    """Build a CellGrid from cells in a fixed order and their nearest place."""
    import h3

    centres = np.array([h3.cell_to_latlng(cell) for cell in cells]).reshape(-1, 2)
    place = np.array(cell_place, dtype=np.int64)
    return CellGrid(
        cells=np.array(cells, dtype=object),
        lat=centres[:, 0],
        lon=centres[:, 1],
        inner_radius_m=inner_radii_m(cells, centres),
        place=place,
        region=np.array([places.region[i] for i in place.tolist()], dtype=object),
    )


def hotspot_kernels(hotspots: Hotspots, places: Places, resolution: int):
    """Discretise every hotspot on H3 cells.

    Returns the CellGrid and a (cells x hotspots) matrix whose column h is hotspot h's
    Gaussian density at the cell centres times the cell area, normalised to sum to one over
    the cells within 3.5 sigma.
    """
    import h3

    spacing = h3.average_hexagon_edge_length(resolution, unit="m") * math.sqrt(3)
    index: dict[str, int] = {}
    cells: list[str] = []
    cell_place: list[int] = []
    entries: list[tuple[int, int, float]] = []
    for h in range(len(hotspots.lat)):
        centre = h3.latlng_to_cell(float(hotspots.lat[h]), float(hotspots.lon[h]), resolution)
        k = int(math.ceil(3.5 * hotspots.sigma_m[h] / spacing)) + 1
        disk = sorted(h3.grid_disk(centre, k))
        centres = np.array([h3.cell_to_latlng(c) for c in disk])
        distance = haversine_m(hotspots.lat[h], hotspots.lon[h], centres[:, 0], centres[:, 1])
        areas = np.array([h3.cell_area(c, unit="m^2") for c in disk])
        weight = np.exp(-0.5 * (distance / hotspots.sigma_m[h]) ** 2) * areas
        keep = distance <= 3.5 * hotspots.sigma_m[h]
        weight = weight[keep] / weight[keep].sum()
        for cell, w in zip(np.array(disk)[keep].tolist(), weight.tolist(), strict=True):
            if cell not in index:
                index[cell] = len(cells)
                cells.append(cell)
                cell_place.append(int(hotspots.place[h]))
            entries.append((index[cell], h, w))
    kernel = np.zeros((len(cells), len(hotspots.lat)))
    for row, column, w in entries:
        kernel[row, column] += w
    return build_grid(cells, cell_place, places), kernel


@dataclass
class RoadPoints:
    """Points every few metres along the generated roads, with their H3 cell."""

    lat: np.ndarray
    lon: np.ndarray
    road: np.ndarray
    km: np.ndarray
    weight: np.ndarray
    cell_index: np.ndarray
    grid: CellGrid
    road_names: list[str]
    road_lines: list[list[tuple[float, float]]]
    road_kind: list[str]


def _polyline(rng, lat_a, lon_a, lat_b, lon_b, bends: int) -> list[tuple[float, float]]:
    """Draw a line from A to B through `bends` points pushed sideways by up to 5% of its length."""
    points = [(lat_a, lon_a)]
    length = float(haversine_m(lat_a, lon_a, lat_b, lon_b))
    for step in range(1, bends + 1):
        t = step / (bends + 1)
        lat = lat_a + t * (lat_b - lat_a)
        lon = lon_a + t * (lon_b - lon_a)
        side = rng.uniform(-0.05, 0.05) * length
        # Push along the east direction, which is sideways enough for a fake road.
        lat, lon = offset_points(lat, lon, side, 0.0)
        points.append((float(lat), float(lon)))
    points.append((lat_b, lon_b))
    return points


def _sample_line(line, spacing_m: float):
    """Points every spacing_m metres along a polyline, with their distance from the start in km."""
    lats, lons, kms = [], [], []
    travelled = 0.0
    for (lat_a, lon_a), (lat_b, lon_b) in zip(line[:-1], line[1:], strict=True):
        length = float(haversine_m(lat_a, lon_a, lat_b, lon_b))
        steps = max(int(length // spacing_m), 1)
        t = (np.arange(steps) + 0.5) / steps
        lats.append(lat_a + t * (lat_b - lat_a))
        lons.append(lon_a + t * (lon_b - lon_a))
        kms.append((travelled + t * length) / 1000.0)
        travelled += length
    return np.concatenate(lats), np.concatenate(lons), np.concatenate(kms)


def build_roads(
    rng: np.random.Generator,
    places: Places,
    street_names: list[str],
    spacing_m: float,
    urban_share: float,
    resolution: int,
) -> RoadPoints:
    """Generate intercity roads and radial city avenues, sampled into weighted points.

    Every place is joined to its two nearest neighbours. A road's points share its traffic
    weight sqrt(population_a * population_b). Cities get 2 + population / 300 000 radial
    avenues (at most 10), whose points share the city's population. Intercity and city
    points are scaled to carry 1 - urban_share and urban_share of the total weight.
    """
    import h3

    count = len(places.name)
    distance = haversine_m(
        places.lat[:, None], places.lon[:, None], places.lat[None, :], places.lon[None, :]
    )
    np.fill_diagonal(distance, np.inf)
    pairs = sorted(
        {tuple(sorted((i, int(j)))) for i in range(count) for j in np.argsort(distance[i])[:2]}
    )
    lines, names, kinds, traffic = [], [], [], []
    for i, j in pairs:
        lines.append(_polyline(rng, places.lat[i], places.lon[i], places.lat[j], places.lon[j], 2))
        names.append(f"{places.name[i]} - {places.name[j]}")
        kinds.append("intercity")
        traffic.append(math.sqrt(float(places.population[i]) * float(places.population[j])))
    for i in range(count):
        avenues = min(2 + int(places.population[i]) // 300_000, 10)
        length = 2000.0 + 8.0 * math.sqrt(float(places.population[i]))
        for a in range(avenues):
            angle = 2 * math.pi * (a + rng.random() * 0.5) / avenues
            end_lat, end_lon = offset_points(
                places.lat[i], places.lon[i], length * math.cos(angle), length * math.sin(angle)
            )
            lines.append(
                _polyline(rng, places.lat[i], places.lon[i], float(end_lat), float(end_lon), 1)
            )
            street = street_names[int(rng.integers(0, len(street_names)))]
            names.append(f"{places.name[i]}, {street} avenue")
            kinds.append("urban")
            traffic.append(float(places.population[i]) / avenues)

    lat_parts, lon_parts, km_parts, road_parts, weight_parts = [], [], [], [], []
    for road, line in enumerate(lines):
        lat, lon, km = _sample_line(line, spacing_m)
        lat_parts.append(lat)
        lon_parts.append(lon)
        km_parts.append(km)
        road_parts.append(np.full(len(lat), road))
        share = urban_share if kinds[road] == "urban" else 1 - urban_share
        weight_parts.append(np.full(len(lat), traffic[road] / len(lat) * share))
    lat = np.concatenate(lat_parts)
    lon = np.concatenate(lon_parts)
    road = np.concatenate(road_parts)
    weight = np.concatenate(weight_parts)
    is_urban = np.array([kinds[r] == "urban" for r in road.tolist()])
    for mask, share in ((is_urban, urban_share), (~is_urban, 1 - urban_share)):
        if weight[mask].sum() > 0:
            weight[mask] *= share / weight[mask].sum()

    point_cells = [
        h3.latlng_to_cell(a, b, resolution) for a, b in zip(lat.tolist(), lon.tolist(), strict=True)
    ]
    cells = sorted(set(point_cells))
    position = {cell: k for k, cell in enumerate(cells)}
    cell_index = np.array([position[c] for c in point_cells])
    # The place of a road cell is the nearest settlement to the cell centre.
    centres = np.array([h3.cell_to_latlng(c) for c in cells])
    nearest = nearest_place(centres[:, 0], centres[:, 1], places)
    grid = build_grid(cells, nearest.tolist(), places)
    return RoadPoints(
        lat=lat,
        lon=lon,
        road=road,
        km=np.concatenate(km_parts),
        weight=weight / weight.sum(),
        cell_index=cell_index,
        grid=grid,
        road_names=names,
        road_lines=lines,
        road_kind=kinds,
    )
