"""Weekly batches of the point processes: crime, fraud, road accidents, 112 calls.

Each function draws one week from its own random stream, so the writers of different
agency databases can regenerate the same events independently. Crime events feed both the
crime registry and the 112 calls, and fraud incidents feed the registry and both feeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jobs.synth import world as w
from jobs.synth.identifiers import zero_padded
from jobs.synth.temporal import HOURS_PER_WEEK


@dataclass
class Events:
    """Columns of a batch of events; every array has one entry per event."""

    hour: np.ndarray
    second: np.ndarray
    cell: np.ndarray
    kind: np.ndarray

    def __len__(self) -> int:
        return len(self.hour)

    def take(self, index: np.ndarray) -> Events:
        return Events(self.hour[index], self.second[index], self.cell[index], self.kind[index])

    @staticmethod
    def concat(parts: list[Events]) -> Events:
        return Events(
            np.concatenate([p.hour for p in parts]),
            np.concatenate([p.second for p in parts]),
            np.concatenate([p.cell for p in parts]),
            np.concatenate([p.kind for p in parts]),
        )

    def sorted(self) -> Events:
        return self.take(np.lexsort((self.cell, self.kind, self.second, self.hour)))


def empty_events() -> Events:
    empty = np.zeros(0, dtype=np.int64)
    return Events(empty, empty.copy(), empty.copy(), empty.copy())


def _days_to_hours(rng, counts_by_day: np.ndarray, first_day: int, hour_probability) -> np.ndarray:
    """Expand per-day counts into hour indices drawn from an hour-of-day profile."""
    days = np.repeat(first_day + np.arange(len(counts_by_day)), counts_by_day)
    hours = rng.choice(24, size=len(days), p=hour_probability)
    return days * 24 + hours


class CrimeProcess:
    """Self-exciting crime events, generated week by week with offspring carried forward.

    Background events of type k fall on day d with mean background_total[k] x
    day_weight[k, d]. Every event then has Poisson(branching[k]) near-repeat offspring in
    the same H3 cell, a geometric number of hours later (mean near_repeat_mean_lag_hours).
    """

    def __init__(self, world: w.World):
        self.world = world
        self.pending = empty_events()

    def week(self, week: int) -> Events:
        world, crime = self.world, self.world.crime
        rng = w.rng_for(world.seed, w.STREAM_CRIME, week)
        first_day = week * 7
        parts = []
        for k in range(len(crime.names)):
            means = crime.background_total[k] * crime.day_weight[k, first_day : first_day + 7]
            hours = _days_to_hours(rng, rng.poisson(means), first_day, crime.hour_probability)
            cells = crime.samplers[k].draw(rng, size=len(hours))
            parts.append(
                Events(hours, rng.integers(0, 3600, len(hours)), cells, np.full(len(hours), k))
            )
        week_end = (week + 1) * HOURS_PER_WEEK
        due = self.pending.hour < week_end
        parts.append(self.pending.take(np.flatnonzero(due)))
        later = [self.pending.take(np.flatnonzero(~due))]
        events = Events.concat(parts).sorted()

        parents = events
        accepted = [events]
        period_end = world.calendar.hours
        while len(parents):
            offspring_counts = rng.poisson(crime.branching[parents.kind])
            children = parents.take(np.repeat(np.arange(len(parents)), offspring_counts))
            lag = rng.geometric(1.0 - crime.lag_ratio, size=len(children))
            children.hour = children.hour + lag
            children.second = rng.integers(0, 3600, len(children))
            children = children.take(np.flatnonzero(children.hour < period_end))
            in_week = children.hour < week_end
            parents = children.take(np.flatnonzero(in_week))
            accepted.append(parents)
            later.append(children.take(np.flatnonzero(~in_week)))
        self.pending = Events.concat(later)
        return Events.concat(accepted).sorted()


@dataclass
class FraudBatch:
    """Fraud incidents of one week with the flags that decide which sources hold them."""

    events: Events
    region: np.ndarray
    scheme: np.ndarray
    is_emerging: np.ndarray
    registered: np.ndarray
    bank_reported: np.ndarray
    operator_reported: np.ndarray
    victim: np.ndarray
    loss_kzt: np.ndarray
    caller_phone: pa.StringArray
    report_delay_hours: np.ndarray


class FraudModel:
    """Fraud incident rates per region, day and scheme, including the emerging scheme."""

    def __init__(self, world: w.World):
        from jobs.synth.temporal import day_weights, hour_probabilities

        fraud = world.settings.fraud
        self.world = world
        self.schemes = list(fraud.schemes) + [fraud.emerging.scheme]
        shares = np.array(list(fraud.schemes.values()))
        self.scheme_share = shares / shares.sum()
        self.day_weight = day_weights(
            world.calendar, world.settings.calendar.weekday_factors, fraud.holiday_factor
        )
        self.hour_probability = hour_probabilities(fraud.hour_profile)
        self.region_mass = world.population_sampler.group_mass()
        self.total = world.counts["fraud"]
        weekly = self.day_weight.reshape(-1, 7).sum(axis=1)
        emerging = fraud.emerging
        self.emerging_weekly = np.zeros((len(world.region_codes), world.weeks))
        for code in emerging.regions:
            r = world.region_codes.index(code)
            for week in range(emerging.start_week, world.weeks):
                self.emerging_weekly[r, week] = (
                    emerging.initial_share
                    * self.total
                    * self.region_mass[r]
                    * weekly[emerging.start_week]
                    * emerging.weekly_growth ** (week - emerging.start_week)
                )
        self.gap = np.array(
            [
                fraud.registration_gap.get(code, fraud.registration_gap_default)
                for code in world.region_codes
            ]
        )

    def regular_weekly(self) -> np.ndarray:
        """Expected regular (non-emerging) incidents per region and week."""
        weekly = self.day_weight.reshape(-1, 7).sum(axis=1)
        return self.total * self.region_mass[:, None] * weekly[None, :]

    def week(self, week: int) -> FraudBatch:
        world, fraud = self.world, self.world.settings.fraud
        rng = w.rng_for(world.seed, w.STREAM_FRAUD, week)
        days = self.day_weight[week * 7 : week * 7 + 7]
        regions = len(world.region_codes)
        regular = rng.poisson(self.total * self.region_mass[:, None] * days[None, :])
        week_days = days / days.sum()
        emerging = rng.poisson(self.emerging_weekly[:, week][:, None] * week_days[None, :])
        counts = np.stack([regular, emerging])  # (is_emerging, region, day)
        flat = counts.reshape(-1)
        cell_index = np.repeat(np.arange(flat.size), flat)
        is_emerging = cell_index // (regions * 7)
        region = (cell_index // 7) % regions
        day = week * 7 + cell_index % 7
        size = len(region)
        hour = day * 24 + rng.choice(24, size=size, p=self.hour_probability)
        scheme = np.where(
            is_emerging == 1,
            len(self.schemes) - 1,
            rng.choice(len(self.scheme_share), size=size, p=self.scheme_share),
        )
        cells = world.population_sampler.draw(rng, groups=region)
        events = Events(hour, rng.integers(0, 3600, size), cells, scheme)
        order = np.lexsort((cells, scheme, events.second, hour))
        events = events.take(order)
        region, is_emerging = region[order], is_emerging[order]
        median = np.array([fraud.median_loss_kzt[s] for s in self.schemes])
        loss = np.round(median[events.kind] * np.exp(rng.normal(0, 1.0, size)), -2)
        codes = np.array([700, 701, 702, 705, 707, 747, 771, 775, 776, 777, 778])
        caller_code = codes[rng.integers(0, len(codes), size)]
        caller_number = rng.integers(0, 10_000_000, size)
        caller = pc.binary_join_element_wise(
            "+7",
            pc.cast(pa.array(caller_code, pa.int64()), pa.string()),
            zero_padded(caller_number, 7),
            "",
        )
        return FraudBatch(
            events=events,
            region=region,
            scheme=events.kind,
            is_emerging=is_emerging.astype(bool),
            registered=rng.random(size) >= self.gap[region],
            bank_reported=rng.random(size) < fraud.bank_report_probability,
            operator_reported=rng.random(size) < fraud.operator_report_probability,
            victim=rng.integers(0, world.persons.size, size),
            loss_kzt=np.maximum(loss, 1000.0),
            caller_phone=caller,
            report_delay_hours=rng.integers(1, 240, size),
        )


def road_week(world: w.World, week: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Road accidents of one week: (hour, second, road point index).

    Accidents in region r on day d have mean road_scale x road mass of r x day weight x
    weather multiplier of (r, d), and fall on road points in proportion to their weight.
    """
    from jobs.synth.temporal import day_weights, hour_probabilities

    settings = world.settings
    rng = w.rng_for(world.seed, w.STREAM_ROAD_ACCIDENTS, week)
    day_weight = day_weights(
        world.calendar, settings.calendar.weekday_factors, settings.road.holiday_factor
    )
    days = slice(week * 7, week * 7 + 7)
    means = (
        world.road_scale
        * world.road_sampler.group_mass()[:, None]
        * day_weight[None, days]
        * world.weather_factor[:, days]
    )
    counts = rng.poisson(means).reshape(-1)
    index = np.repeat(np.arange(counts.size), counts)
    region = index // 7
    day = week * 7 + index % 7
    hour = day * 24 + rng.choice(
        24, size=len(day), p=hour_probabilities(settings.road.hour_profile)
    )
    second = rng.integers(0, 3600, len(day))
    point = world.road_sampler.draw(rng, groups=region)
    order = np.lexsort((point, second, hour))
    return hour[order], second[order], point[order]


def background_week(
    world: w.World, stream: int, week: int, total: float, day_weight, hour_probability
):
    """Events with population-weighted cells and no self-excitation (112 calls, offences)."""
    rng = w.rng_for(world.seed, stream, week)
    means = total * day_weight[week * 7 : week * 7 + 7]
    hours = _days_to_hours(rng, rng.poisson(means), week * 7, hour_probability)
    cells = world.population_sampler.draw(rng, size=len(hours))
    events = Events(hours, rng.integers(0, 3600, len(hours)), cells, np.zeros(len(hours), np.int64))
    return events.sorted(), rng
