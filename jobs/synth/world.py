"""The synthetic world: geography, rates and people, built deterministically from a seed.

Every random draw comes from its own stream: a numpy ``Generator(PCG64)`` seeded with
``SeedSequence(seed, spawn_key=(stream, batch))``. A stream's numbers therefore do not
depend on which other streams ran before it or in which process, so two processes that
build the same world and the same week get the same rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jobs.synth import geography, temporal
from jobs.synth.config import SynthSettings
from jobs.synth.identifiers import PersonPool, zero_padded

logger = logging.getLogger(__name__)

H3_STREET_RESOLUTION = 8
H3_FRAUD_RESOLUTION = 6

# Stream numbers for SeedSequence spawn keys. Append new streams and never renumber one,
# because that would change every file generated for a seed.
STREAM_GEOGRAPHY = 1
STREAM_ROADS = 2
STREAM_WEATHER = 3
STREAM_PERSONS = 4
STREAM_STREETS = 5
STREAM_CRIME = 10
STREAM_CRIME_ATTRIBUTES = 11
STREAM_FRAUD = 20
STREAM_ROAD_ACCIDENTS = 30
STREAM_CALLS = 40
STREAM_ADMIN = 50
STREAM_PROBATION = 60
STREAM_PRECURSOR = 70

STREET_NAMES = [
    "Abai",
    "Tole bi",
    "Kabanbai batyr",
    "Kenesary",
    "Auezov",
    "Satpayev",
    "Dostyk",
    "Zhambyl",
    "Seifullin",
    "Baitursynov",
    "Gogol",
    "Pushkin",
    "Lermontov",
    "Mametova",
    "Al-Farabi",
    "Raiymbek",
    "Tauelsizdik",
    "Respublika",
    "Turan",
    "Mangilik El",
    "Bukhar zhyrau",
    "Zheltoksan",
    "Makataev",
    "Nauryzbai batyr",
    "Shevchenko",
    "Gagarin",
    "Lenin",
    "Sovetskaya",
    "Mira",
    "Mukanov",
    "Kazybek bi",
    "Aiteke bi",
]


def rng_for(seed: int, stream: int, batch: int = 0) -> np.random.Generator:
    """Return the generator of one stream and batch."""
    sequence = np.random.SeedSequence(seed, spawn_key=(stream, batch))
    return np.random.Generator(np.random.PCG64(sequence))


@dataclass
class CellSampler:
    """Draw cells with given masses, optionally restricted to one group (region)."""

    order: np.ndarray
    cumulative: np.ndarray
    group_start: np.ndarray
    group_stop: np.ndarray

    @classmethod
    def build(cls, mass: np.ndarray, group: np.ndarray, groups: int) -> CellSampler:
        order = np.argsort(group, kind="stable")
        cumulative = np.cumsum(mass[order])
        sorted_group = group[order]
        start = np.searchsorted(sorted_group, np.arange(groups), side="left")
        stop = np.searchsorted(sorted_group, np.arange(groups), side="right")
        return cls(order, cumulative, start, stop)

    def group_mass(self) -> np.ndarray:
        padded = np.concatenate([[0.0], self.cumulative])
        return padded[self.group_stop] - padded[self.group_start]

    def draw(self, rng: np.random.Generator, groups: np.ndarray | None = None, size: int = 0):
        """Draw cell indices, within each given group when ``groups`` is set."""
        padded = np.concatenate([[0.0], self.cumulative])
        if groups is None:
            low = np.zeros(size)
            high = np.full(size, padded[-1])
        else:
            low = padded[self.group_start[groups]]
            high = padded[self.group_stop[groups]]
        u = low + rng.random(len(low)) * (high - low)
        position = np.searchsorted(self.cumulative, u, side="right")
        return self.order[np.minimum(position, len(self.order) - 1)]


@dataclass
class CrimeRates:
    names: list[str]
    branching: np.ndarray
    lag_ratio: float
    mass: np.ndarray
    samplers: list[CellSampler]
    day_weight: np.ndarray
    hour_probability: np.ndarray
    background_total: np.ndarray
    expected_hourly: np.ndarray


@dataclass
class World:
    seed: int
    incidents: int
    settings: SynthSettings
    places: geography.Places
    region_codes: list[str]
    grid: geography.CellGrid
    grid_region: np.ndarray
    population_mass: np.ndarray
    population_sampler: CellSampler
    crime: CrimeRates
    roads: geography.RoadPoints
    road_region: np.ndarray
    road_sampler: CellSampler
    road_scale: float
    calendar: temporal.Calendar
    weather: temporal.Weather
    weather_factor: np.ndarray
    persons: PersonPool
    cell_address_prefix: pa.StringArray
    hour_text: pa.StringArray
    hour_year: np.ndarray
    almaty_shift: np.ndarray
    counts: dict[str, float] = field(default_factory=dict)

    @property
    def weeks(self) -> int:
        return self.calendar.weeks


def _crime_rates(rng, world_counts, settings, kernel, hotspots, places, grid, calendar):
    crime = settings.crime
    names = list(crime.types)
    shares = np.array([crime.types[n].share for n in names])
    shares = shares / shares.sum()
    per_hotspot_population = (
        places.population[hotspots.place]
        / np.bincount(hotspots.place, minlength=len(places.name))[hotspots.place]
    )
    hour_probability = temporal.hour_probabilities(crime.hour_profile)
    lag_ratio = 1.0 - 1.0 / crime.near_repeat_mean_lag_hours
    masses, samplers, day_weights, totals, expected = [], [], [], [], []
    zero_group = np.zeros(len(grid), dtype=np.int64)
    for k, name in enumerate(names):
        # Each type weights the hotspots differently, so the types have distinct maps.
        weights = per_hotspot_population * rng.gamma(2.0, 0.5, size=len(hotspots.lat))
        mass = kernel @ weights
        mass = mass / mass.sum()
        masses.append(mass)
        samplers.append(CellSampler.build(mass, zero_group, 1))
        day_weight = temporal.day_weights(
            calendar, settings.calendar.weekday_factors, crime.types[name].holiday_factor
        )
        day_weights.append(day_weight)
        unit = temporal.expected_with_offspring(
            temporal.background_by_hour(day_weight, hour_probability),
            crime.types[name].branching,
            lag_ratio,
        )
        target = world_counts["crime"] * shares[k]
        totals.append(target / unit.sum())
        expected.append(unit * totals[-1])
    return CrimeRates(
        names=names,
        branching=np.array([crime.types[n].branching for n in names]),
        lag_ratio=lag_ratio,
        mass=np.array(masses),
        samplers=samplers,
        day_weight=np.array(day_weights),
        hour_probability=hour_probability,
        background_total=np.array(totals),
        expected_hourly=np.array(expected),
    )


def build_world(seed: int, incidents: int, settings: SynthSettings, real_dir: Path) -> World:
    """Build the world for a seed and an incident count (a few seconds of CPU)."""
    if incidents <= 0:
        raise ValueError(f"incidents must be positive, got {incidents}")
    shares = settings.incident_shares
    share_sum = sum(shares.values())
    counts = {name: incidents * value / share_sum for name, value in shares.items()}
    counts["calls_112_background"] = incidents * settings.calls_112_background_per_incident
    counts["admin_offences"] = incidents * settings.admin_offences_per_incident

    places = geography.read_places(
        real_dir, settings.geography.populations, settings.geography.default_population
    )
    region_codes = [code for code, _, _ in geography.REGIONS_2022]
    region_position = {code: i for i, code in enumerate(region_codes)}

    rng = rng_for(seed, STREAM_GEOGRAPHY)
    hotspots = geography.draw_hotspots(rng, places, settings.geography)
    grid, kernel = geography.hotspot_kernels(hotspots, places, H3_STREET_RESOLUTION)
    grid_region = np.array([region_position[r] for r in grid.region.tolist()], dtype=np.int64)
    calendar = temporal.build_calendar(settings.start_date, settings.weeks, settings.calendar)
    crime = _crime_rates(rng, counts, settings, kernel, hotspots, places, grid, calendar)

    per_hotspot_population = (
        places.population[hotspots.place]
        / np.bincount(hotspots.place, minlength=len(places.name))[hotspots.place]
    )
    population_mass = kernel @ per_hotspot_population
    population_mass /= population_mass.sum()
    population_sampler = CellSampler.build(population_mass, grid_region, len(region_codes))

    roads = geography.build_roads(
        rng_for(seed, STREAM_ROADS),
        places,
        STREET_NAMES,
        settings.road.point_spacing_m,
        settings.road.urban_share,
        H3_STREET_RESOLUTION,
    )
    road_region_of_cell = np.array(
        [region_position[r] for r in roads.grid.region.tolist()], dtype=np.int64
    )
    road_region = road_region_of_cell[roads.cell_index]
    road_sampler = CellSampler.build(roads.weight, road_region, len(region_codes))

    region_lat = np.array(
        [
            places.lat[[i for i, r in enumerate(places.region) if r == code]].mean()
            for code in region_codes
        ]
    )
    weather = temporal.draw_weather(rng_for(seed, STREAM_WEATHER), calendar, region_lat)
    weather_factor = temporal.weather_multiplier(weather, settings.road.weather_effects)
    road_day = temporal.day_weights(
        calendar, settings.calendar.weekday_factors, settings.road.holiday_factor
    )
    expected_unit = (road_sampler.group_mass()[:, None] * road_day[None, :] * weather_factor).sum()
    road_scale = counts["road"] / expected_unit

    pool = settings.person_pool
    pool_size = int(np.clip(incidents * pool.per_incident, pool.min, pool.max))
    persons = PersonPool(
        rng_for(seed, STREAM_PERSONS), pool_size, np.datetime64(settings.start_date, "D")
    )
    streets = rng_for(seed, STREAM_STREETS).integers(0, len(STREET_NAMES), size=len(grid))
    cell_address_prefix = pa.array(
        [
            f"{places.name[p]}, {STREET_NAMES[s]} street, "
            for p, s in zip(grid.place.tolist(), streets.tolist(), strict=True)
        ],
        pa.string(),
    )
    # Hours to add to a local wall-clock time to get Asia/Almaty wall-clock time: one hour
    # in the regions that ran at UTC+5 while Almaty ran at UTC+6 (until 2024-03-01).
    transition_hour = int(
        (np.datetime64("2024-03-01T00", "h") - np.datetime64(settings.start_date, "h")).astype(int)
    )
    almaty_shift = np.array(
        [1 if code in geography.UTC5_BEFORE_2024 else 0 for code in region_codes], dtype=np.int64
    )
    counts["transition_hour"] = transition_hour
    hour_text = temporal.hour_text_table(calendar)
    hour_year = np.array([int(text[:4]) for text in hour_text.to_pylist()], dtype=np.int64)
    logger.info(
        "world built: %s street cells, %s road points, %s persons",
        len(grid),
        len(roads.lat),
        pool_size,
    )
    return World(
        seed=seed,
        incidents=incidents,
        settings=settings,
        places=places,
        region_codes=region_codes,
        grid=grid,
        grid_region=grid_region,
        population_mass=population_mass,
        population_sampler=population_sampler,
        crime=crime,
        roads=roads,
        road_region=road_region,
        road_sampler=road_sampler,
        road_scale=road_scale,
        calendar=calendar,
        weather=weather,
        weather_factor=weather_factor,
        persons=persons,
        cell_address_prefix=cell_address_prefix,
        hour_text=hour_text,
        hour_year=hour_year,
        almaty_shift=almaty_shift,
        counts=counts,
    )


def to_almaty_hours(world: World, hours: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Convert local hour indices to Asia/Almaty wall-clock hour indices."""
    before = hours < world.counts["transition_hour"]
    return hours + world.almaty_shift[regions] * before


def timestamp_text(world: World, hours: np.ndarray, seconds: np.ndarray) -> pa.StringArray:
    """Format 'YYYY-MM-DD HH:MM:SS' from hour indices and seconds within the hour."""
    return pc.binary_join_element_wise(
        world.hour_text.take(hours), temporal.MINUTE_SECOND_TEXT.take(seconds), ""
    )


def numbered(prefix, numbers: np.ndarray, width: int) -> pa.StringArray:
    """Format identifiers as prefix + number zero-padded to ``width`` digits.

    ``prefix`` is a string or a string array with one prefix per number.
    """
    return pc.binary_join_element_wise(prefix, zero_padded(numbers, width), "")


def points_in_cells(
    rng: np.random.Generator, grid: geography.CellGrid, cells: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a uniform point in the inscribed disc of each cell, so it stays in that cell."""
    radius = grid.inner_radius_m[cells] * np.sqrt(rng.random(len(cells)))
    angle = rng.random(len(cells)) * 2 * np.pi
    lat, lon = geography.offset_points(
        grid.lat[cells], grid.lon[cells], radius * np.cos(angle), radius * np.sin(angle)
    )
    return np.round(lat, 6), np.round(lon, 6)
