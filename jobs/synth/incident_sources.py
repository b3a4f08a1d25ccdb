"""Writers of the incident databases: crime registry, 112 calls, road police, fraud feeds."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jobs.synth import world as w
from jobs.synth.postgres_out import PostgresDatabase
from jobs.synth.processes import (
    CrimeProcess,
    FraudBatch,
    FraudModel,
    background_week,
    road_week,
)
from jobs.synth.sqlite_out import Database, metadata_rows
from jobs.synth.temporal import day_weights, hour_probabilities

logger = logging.getLogger(__name__)

CASE_STATUSES = np.array(
    ["under_investigation", "sent_to_court", "suspended", "terminated"], dtype=object
)
CASE_STATUS_PROBABILITY = [0.5, 0.25, 0.15, 0.1]
FRAUD_ARTICLE = "190"
HOUSE_NUMBERS = pa.array([str(number) for number in range(200)], pa.string())
# Free-text descriptions in Russian, as the feeds' analysts write them.
SCHEME_DESCRIPTIONS = {
    "fake_bank_security_call": (
        "Звонок от «службы безопасности банка», перевод на «безопасный счёт»"
    ),
    "marketplace": "Оплата товара по ссылке на поддельную страницу маркетплейса",
    "investment": "Вложение в «инвестиционную платформу» с обещанием высокого дохода",
    "relative_in_trouble": (
        "Звонок о родственнике, попавшем в беду, просьба срочно перевести деньги"
    ),
    "sim_reregistration": (
        "Звонок «оператора связи» о перерегистрации SIM-карты, запрос кода из SMS"
    ),
}

REGISTRY_DDL = [
    """CREATE TABLE criminal_cases (
        case_id INTEGER PRIMARY KEY,
        erdr_no TEXT NOT NULL UNIQUE,
        crime_type TEXT NOT NULL,
        article TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        registered_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        region_code TEXT NOT NULL,
        city TEXT NOT NULL,
        address TEXT NOT NULL,
        lat REAL NOT NULL,
        lon REAL NOT NULL,
        victim_iin TEXT,
        victim_name TEXT,
        damage_kzt REAL,
        status TEXT NOT NULL
    )""",
    "CREATE TABLE regions (region_code TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL)",
]
CALLS_DDL = [
    """CREATE TABLE calls (
        call_id INTEGER PRIMARY KEY,
        call_no TEXT NOT NULL UNIQUE,
        received_at TEXT NOT NULL,
        caller_phone TEXT NOT NULL,
        category TEXT NOT NULL,
        region_code TEXT NOT NULL,
        city TEXT NOT NULL,
        lat REAL NOT NULL,
        lon REAL NOT NULL,
        duration_s INTEGER NOT NULL
    )"""
]
ROAD_DDL = [
    """CREATE TABLE roads (
        road_id INTEGER PRIMARY KEY,
        road_name TEXT NOT NULL,
        road_kind TEXT NOT NULL
    )""",
    """CREATE TABLE accidents (
        accident_id INTEGER PRIMARY KEY,
        card_no TEXT NOT NULL UNIQUE,
        occurred_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        region_code TEXT NOT NULL,
        city TEXT NOT NULL,
        road_id INTEGER NOT NULL REFERENCES roads (road_id),
        km REAL NOT NULL,
        lat REAL NOT NULL,
        lon REAL NOT NULL,
        accident_type TEXT NOT NULL,
        vehicles INTEGER NOT NULL,
        injured INTEGER NOT NULL,
        killed INTEGER NOT NULL,
        road_surface TEXT NOT NULL,
        driver_iin TEXT NOT NULL
    )""",
]
BANK_DDL = [
    """CREATE TABLE fraud_reports (
        report_id INTEGER PRIMARY KEY,
        report_no TEXT NOT NULL UNIQUE,
        bank_code TEXT NOT NULL,
        transaction_at TEXT NOT NULL,
        reported_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        victim_iin TEXT NOT NULL,
        victim_name TEXT NOT NULL,
        victim_phone TEXT NOT NULL,
        amount_kzt REAL NOT NULL,
        channel TEXT NOT NULL,
        scheme TEXT NOT NULL,
        description TEXT NOT NULL,
        region_code TEXT NOT NULL,
        city TEXT NOT NULL
    )"""
]
OPERATOR_DDL = [
    """CREATE TABLE fraud_signals (
        signal_id INTEGER PRIMARY KEY,
        operator_code TEXT NOT NULL,
        detected_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        victim_phone TEXT NOT NULL,
        caller_phone TEXT NOT NULL,
        signal_type TEXT NOT NULL,
        call_duration_s INTEGER NOT NULL,
        scheme TEXT NOT NULL,
        description TEXT NOT NULL,
        region_code TEXT NOT NULL,
        city TEXT NOT NULL
    )"""
]


def _open(
    world: w.World, out: Path, name: str, ddl: list[str], database_url: str | None = None
) -> Database | PostgresDatabase:
    """Open agencies/<name>.sqlite, or the schema <name> when a PostgreSQL URL is given."""
    if database_url:
        return PostgresDatabase(
            database_url, name, ddl, metadata_rows(world, name), world.settings.batch_rows
        )
    return Database(
        out / "agencies" / f"{name}.sqlite",
        ddl,
        metadata_rows(world, name),
        world.settings.batch_rows,
    )


def _text(world: w.World, hours, seconds, regions) -> pa.StringArray:
    return w.timestamp_text(world, w.to_almaty_hours(world, hours, regions), seconds)


def _city(world: w.World, cells: np.ndarray) -> pa.StringArray:
    return pa.array(world.places.name, pa.string()).take(world.grid.place[cells])


def _regions(world: w.World, region_index: np.ndarray) -> pa.StringArray:
    return pa.array(world.region_codes, pa.string()).take(region_index)


class FraudTruthWriter:
    """Stream truth/fraud_incidents.parquet: every fraud incident with its id in each source.

    Bank report and operator signal ids count the reported incidents in generation order,
    which is the order in which write_fraud_feeds inserts them.
    """

    def __init__(self, world: w.World, model: FraudModel, path: Path):
        self.world = world
        self.schemes = np.array(model.schemes, dtype=object)
        self.path = path
        self.writer = None
        self.next_fraud, self.next_bank, self.next_operator = 1, 1, 1

    def _ids(self, reported: np.ndarray, first: int) -> list:
        ids = np.full(len(reported), None, dtype=object)
        ids[reported] = np.arange(first, first + int(reported.sum()))
        return ids.tolist()

    def write(self, week: int, fraud: FraudBatch, erdr_of_fraud: np.ndarray) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        world, count = self.world, len(fraud.region)
        table = pa.table(
            {
                "fraud_id": pa.array(np.arange(self.next_fraud, self.next_fraud + count)),
                "week": pa.array(np.full(count, week), pa.int32()),
                "occurred_at": pa.array(
                    _text(world, fraud.events.hour, fraud.events.second, fraud.region)
                ),
                "region_code": pa.array(_regions(world, fraud.region)),
                "h3_r8": pa.array(world.grid.cells[fraud.events.cell].tolist()),
                "scheme": pa.array(self.schemes[fraud.scheme].tolist()),
                "is_emerging": pa.array(fraud.is_emerging),
                "registered": pa.array(fraud.registered),
                "erdr_no": pa.array(erdr_of_fraud.tolist(), pa.string()),
                "bank_report_id": pa.array(
                    self._ids(fraud.bank_reported, self.next_bank), pa.int64()
                ),
                "operator_signal_id": pa.array(
                    self._ids(fraud.operator_reported, self.next_operator), pa.int64()
                ),
                "loss_kzt": pa.array(fraud.loss_kzt),
            }
        )
        self.next_fraud += count
        self.next_bank += int(fraud.bank_reported.sum())
        self.next_operator += int(fraud.operator_reported.sum())
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def write_crime_registry(world: w.World, out: Path, database_url: str | None = None) -> dict:
    """Write crime_registry.sqlite and the truth about fraud incidents and their registration.

    Every crime event becomes a case; a fraud incident becomes a case unless the region's
    planted registration gap left it unregistered.
    """
    from jobs.synth.geography import REGIONS_2022

    db = _open(world, out, "crime_registry", REGISTRY_DDL, database_url)
    db.insert(
        "regions",
        {
            "region_code": [r[0] for r in REGIONS_2022],
            "name": [r[1] for r in REGIONS_2022],
            "kind": [r[2] for r in REGIONS_2022],
        },
    )
    crime_process = CrimeProcess(world)
    fraud_model = FraudModel(world)
    crime_settings = world.settings.crime
    type_names = np.array(crime_process.world.crime.names + ["fraud"], dtype=object)
    articles = np.array(
        [crime_settings.types[n].article for n in world.crime.names] + [FRAUD_ARTICLE], dtype=object
    )
    low, high = crime_settings.registration_delay_hours
    fraud_truth = FraudTruthWriter(world, fraud_model, out / "truth" / "fraud_incidents.parquet")
    next_case = 1
    fraud_kind = len(world.crime.names)
    for week in range(world.weeks):
        crimes = crime_process.week(week)
        fraud = fraud_model.week(week)
        rng = w.rng_for(world.seed, w.STREAM_CRIME_ATTRIBUTES, week)
        crime_damage = np.round(np.exp(rng.normal(11.0, 1.2, len(crimes))), -2)
        crime_damage[np.isin(crimes.kind, [world.crime.names.index("assault")])] = np.nan
        lat, lon = w.points_in_cells(rng, world.grid, crimes.cell)
        fraud_lat, fraud_lon = w.points_in_cells(rng, world.grid, fraud.events.cell)
        registered = np.flatnonzero(fraud.registered)
        delay = np.concatenate(
            [rng.integers(low, high + 1, len(crimes)), fraud.report_delay_hours[registered]]
        )
        hour = np.concatenate([crimes.hour, fraud.events.hour[registered]])
        second = np.concatenate([crimes.second, fraud.events.second[registered]])
        cell = np.concatenate([crimes.cell, fraud.events.cell[registered]])
        kind = np.concatenate([crimes.kind, np.full(len(registered), fraud_kind)])
        region = world.grid_region[cell]
        victim = np.concatenate(
            [rng.integers(0, world.persons.size, len(crimes)), fraud.victim[registered]]
        )
        damage = np.concatenate([crime_damage, fraud.loss_kzt[registered]])
        order = np.lexsort((kind, second, hour))
        fraud_position = order - len(crimes)  # position among registered frauds, or negative
        size = len(order)
        case_id = np.arange(next_case, next_case + size)
        next_case += size
        hour, second, cell, kind, region = (a[order] for a in (hour, second, cell, kind, region))
        delay, victim, damage = delay[order], victim[order], damage[order]
        all_lat = np.concatenate([lat, fraud_lat[registered]])[order]
        all_lon = np.concatenate([lon, fraud_lon[registered]])[order]
        registered_hour = hour + delay
        # ERDR number: two-digit year of registration, region number, case id (15 digits).
        year = world.hour_year[registered_hour] % 100
        erdr = ((year * 100 + region + 10) * 10**11 + case_id).astype(str).astype(object)
        houses = rng.integers(1, 200, size)
        db.insert(
            "criminal_cases",
            {
                "case_id": case_id,
                "erdr_no": erdr,
                "crime_type": type_names[kind],
                "article": articles[kind],
                "occurred_at": _text(world, hour, second, region),
                "registered_at": _text(world, registered_hour, second, region),
                "updated_at": _text(
                    world, registered_hour + rng.integers(0, 24 * 14, size), second, region
                ),
                "region_code": _regions(world, region),
                "city": _city(world, cell),
                "address": pc.binary_join_element_wise(
                    world.cell_address_prefix.take(cell), HOUSE_NUMBERS.take(houses), ""
                ),
                "lat": all_lat,
                "lon": all_lon,
                "victim_iin": world.persons.take("iins", victim),
                "victim_name": world.persons.take("names", victim),
                "damage_kzt": damage,
                "status": CASE_STATUSES[rng.choice(4, size=size, p=CASE_STATUS_PROBABILITY)],
            },
        )

        erdr_of_fraud = np.full(len(fraud.region), None, dtype=object)
        is_fraud_row = fraud_position >= 0
        erdr_of_fraud[registered[fraud_position[is_fraud_row]]] = erdr[is_fraud_row]
        fraud_truth.write(week, fraud, erdr_of_fraud)
    fraud_truth.close()
    return {"crime_registry": db.close()}


def write_calls(world: w.World, out: Path, database_url: str | None = None) -> dict:
    """Write calls_112.sqlite: background calls plus calls about a share of the crimes."""
    settings = world.settings.calls_112
    db = _open(world, out, "calls_112", CALLS_DDL, database_url)
    crime_process = CrimeProcess(world)
    day_weight = day_weights(
        world.calendar, world.settings.calendar.weekday_factors, settings.holiday_factor
    )
    hour_probability = hour_probabilities(settings.hour_profile)
    categories = np.array(list(settings.categories), dtype=object)
    category_probability = np.array(list(settings.categories.values()))
    category_probability /= category_probability.sum()
    next_call = 1
    for week in range(world.weeks):
        background, rng = background_week(
            world,
            w.STREAM_CALLS,
            week,
            world.counts["calls_112_background"],
            day_weight,
            hour_probability,
        )
        crimes = crime_process.week(week)
        reported = crimes.take(
            np.flatnonzero(rng.random(len(crimes)) < settings.call_probability_per_crime)
        )
        # A call comes in after the crime but within the same hour, so the truth per hour holds.
        reported.second = reported.second + (
            rng.random(len(reported)) * (3600 - reported.second)
        ).astype(np.int64)
        reported.second = np.minimum(reported.second, 3599)
        category = np.concatenate(
            [
                rng.choice(len(categories), size=len(background), p=category_probability),
                np.full(len(reported), -1),
            ]
        )
        hour = np.concatenate([background.hour, reported.hour])
        second = np.concatenate([background.second, reported.second])
        cell = np.concatenate([background.cell, reported.cell])
        order = np.lexsort((cell, second, hour))
        hour, second, cell, category = hour[order], second[order], cell[order], category[order]
        size = len(order)
        region = world.grid_region[cell]
        lat, lon = w.points_in_cells(rng, world.grid, cell)
        call_id = np.arange(next_call, next_call + size)
        next_call += size
        phones = world.persons.take("phones", rng.integers(0, world.persons.size, size))
        db.insert(
            "calls",
            {
                "call_id": call_id,
                "call_no": w.numbered("112-", call_id, 10),
                "received_at": _text(world, hour, second, region),
                "caller_phone": phones,
                "category": np.where(category < 0, "crime", categories[np.maximum(category, 0)]),
                "region_code": _regions(world, region),
                "city": _city(world, cell),
                "lat": lat,
                "lon": lon,
                "duration_s": rng.integers(20, 600, size),
            },
        )
    return {"calls_112": db.close()}


def write_road_police(world: w.World, out: Path, database_url: str | None = None) -> dict:
    """Write road_police.sqlite: generated roads and the accidents on them."""
    roads = world.roads
    db = _open(world, out, "road_police", ROAD_DDL, database_url)
    db.insert(
        "roads",
        {
            "road_id": list(range(1, len(roads.road_names) + 1)),
            "road_name": roads.road_names,
            "road_kind": roads.road_kind,
        },
    )
    types = np.array(
        ["collision", "pedestrian_hit", "rollover", "obstacle_hit", "cyclist_hit"], dtype=object
    )
    names = pa.array(world.places.name, pa.string())
    next_accident = 1
    for week in range(world.weeks):
        hour, second, point = road_week(world, week)
        rng = w.rng_for(world.seed, w.STREAM_ROAD_ACCIDENTS, world.weeks + week)
        size = len(hour)
        cell = roads.cell_index[point]
        region = world.road_region[point]
        day = hour // 24
        surface = np.where(
            world.weather.is_ice[region, day],
            "ice",
            np.where(
                world.weather.is_snow[region, day],
                "snow",
                np.where(world.weather.is_rain[region, day], "wet", "dry"),
            ),
        )
        injured = rng.poisson(1.2, size)
        accident_id = np.arange(next_accident, next_accident + size)
        next_accident += size
        db.insert(
            "accidents",
            {
                "accident_id": accident_id,
                "card_no": w.numbered("DTP-", accident_id, 9),
                "occurred_at": _text(world, hour, second, region),
                "updated_at": _text(world, hour + rng.integers(1, 24 * 10, size), second, region),
                "region_code": _regions(world, region),
                "city": names.take(roads.grid.place[cell]),
                "road_id": roads.road[point] + 1,
                "km": np.round(roads.km[point], 1),
                "lat": np.round(roads.lat[point], 6),
                "lon": np.round(roads.lon[point], 6),
                "accident_type": types[rng.choice(len(types), size, p=[0.55, 0.2, 0.1, 0.1, 0.05])],
                "vehicles": 1 + rng.poisson(0.8, size),
                "injured": injured,
                "killed": rng.binomial(injured + 1, 0.03),
                "road_surface": surface,
                "driver_iin": world.persons.take("iins", rng.integers(0, world.persons.size, size)),
            },
        )
    return {"road_police": db.close()}


def write_fraud_feeds(world: w.World, out: Path, database_url: str | None = None) -> dict:
    """Write bank_fraud.sqlite and operator_fraud.sqlite from the same fraud incidents.

    Both feeds label the emerging scheme "other", as sources do before a scheme has a name.
    Only its description text distinguishes it.
    """
    model = FraudModel(world)
    bank = _open(world, out, "bank_fraud", BANK_DDL, database_url)
    operator = _open(world, out, "operator_fraud", OPERATOR_DDL, database_url)
    emerging = world.settings.fraud.emerging.scheme
    feed_scheme = np.array([s if s != emerging else "other" for s in model.schemes], dtype=object)
    descriptions = np.array([SCHEME_DESCRIPTIONS.get(s, s) for s in model.schemes], dtype=object)
    banks = np.array([f"BANK{i:02d}" for i in range(1, 9)], dtype=object)
    channels = np.array(["card_transfer", "mobile_app", "internet_banking", "atm"], dtype=object)
    operators = np.array(["OP-K", "OP-B", "OP-T"], dtype=object)
    signal_types = np.array(["voice_call", "sms", "messenger_call"], dtype=object)
    next_bank, next_operator = 1, 1
    for week in range(world.weeks):
        fraud = model.week(week)
        rng = w.rng_for(world.seed, w.STREAM_FRAUD, world.weeks + week)
        events = fraud.events
        cities = _city(world, events.cell)
        for feed in ("bank", "operator"):
            mask = fraud.bank_reported if feed == "bank" else fraud.operator_reported
            index = np.flatnonzero(mask)
            size = len(index)
            hour, second, region = events.hour[index], events.second[index], fraud.region[index]
            victim = fraud.victim[index]
            common = {
                "updated_at": _text(
                    world, hour + fraud.report_delay_hours[index] + 24, second, region
                ),
                "victim_phone": world.persons.take("phones", victim),
                "scheme": feed_scheme[fraud.scheme[index]],
                "description": descriptions[fraud.scheme[index]],
                "region_code": _regions(world, region),
                "city": cities.take(index),
            }
            if feed == "bank":
                report_id = np.arange(next_bank, next_bank + size)
                next_bank += size
                bank_code = banks[rng.integers(0, len(banks), size)]
                bank.insert(
                    "fraud_reports",
                    {
                        "report_id": report_id,
                        "report_no": w.numbered(
                            pc.binary_join_element_wise(pa.array(bank_code, pa.string()), "-", ""),
                            report_id,
                            9,
                        ),
                        "bank_code": bank_code,
                        "transaction_at": _text(world, hour, second, region),
                        "reported_at": _text(
                            world, hour + fraud.report_delay_hours[index], second, region
                        ),
                        "victim_iin": world.persons.take("iins", victim),
                        "victim_name": world.persons.take("names", victim),
                        "amount_kzt": fraud.loss_kzt[index],
                        "channel": channels[rng.integers(0, len(channels), size)],
                        **common,
                    },
                )
            else:
                signal_id = np.arange(next_operator, next_operator + size)
                next_operator += size
                operator.insert(
                    "fraud_signals",
                    {
                        "signal_id": signal_id,
                        "operator_code": operators[rng.integers(0, len(operators), size)],
                        "detected_at": _text(world, hour, second, region),
                        "caller_phone": fraud.caller_phone.take(index),
                        "signal_type": signal_types[rng.integers(0, len(signal_types), size)],
                        "call_duration_s": rng.integers(15, 1800, size),
                        **common,
                    },
                )
    return {"bank_fraud": bank.close(), "operator_fraud": operator.close()}
