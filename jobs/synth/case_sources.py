"""Writers of the case databases with planted violations and anomalies.

Administrative offences, probation check-ins and precursor circulation carry violations
planted at the rates of conf/synth.yaml. Each writer returns the planted items as
(kind, database, table, record_id, detail) rows for the ground truth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jobs.synth import world as w
from jobs.synth.identifiers import make_bins
from jobs.synth.incident_sources import _city, _open, _regions, _text
from jobs.synth.processes import background_week
from jobs.synth.temporal import day_weights

PlantedRow = tuple[str, str, str, int, str]

ADMIN_DDL = [
    """CREATE TABLE articles (
        article TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        max_fine_mrp INTEGER NOT NULL
    )""",
    """CREATE TABLE offences (
        offence_id INTEGER PRIMARY KEY,
        protocol_no TEXT NOT NULL UNIQUE,
        event_ref TEXT NOT NULL,
        article TEXT NOT NULL REFERENCES articles (article),
        offence_at TEXT NOT NULL,
        decision_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        offender_iin TEXT NOT NULL,
        offender_name TEXT NOT NULL,
        offender_birth_date TEXT NOT NULL,
        region_code TEXT NOT NULL,
        city TEXT NOT NULL,
        lat REAL NOT NULL,
        lon REAL NOT NULL,
        penalty_mrp INTEGER NOT NULL,
        penalty_kzt INTEGER NOT NULL
    )""",
]
PROBATION_DDL = [
    """CREATE TABLE probationers (
        person_id INTEGER PRIMARY KEY,
        iin TEXT NOT NULL,
        full_name TEXT NOT NULL,
        birth_date TEXT NOT NULL,
        region_code TEXT NOT NULL,
        city TEXT NOT NULL,
        office_code TEXT NOT NULL,
        sentence_start TEXT NOT NULL,
        sentence_end TEXT NOT NULL,
        checkin_interval_days INTEGER NOT NULL
    )""",
    """CREATE TABLE checkins (
        checkin_id INTEGER PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES probationers (person_id),
        scheduled_date TEXT NOT NULL,
        status TEXT NOT NULL,
        checked_in_at TEXT,
        warning_issued_at TEXT,
        office_code TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
]
PRECURSOR_DDL = [
    """CREATE TABLE licences (
        licence_id INTEGER PRIMARY KEY,
        licence_no TEXT NOT NULL UNIQUE,
        holder_bin TEXT NOT NULL,
        holder_name TEXT NOT NULL,
        substance TEXT NOT NULL,
        max_monthly_kg REAL NOT NULL,
        valid_from TEXT NOT NULL,
        valid_to TEXT NOT NULL,
        region_code TEXT NOT NULL,
        city TEXT NOT NULL
    )""",
    """CREATE TABLE movements (
        movement_id INTEGER PRIMARY KEY,
        waybill_no TEXT NOT NULL UNIQUE,
        licence_id INTEGER REFERENCES licences (licence_id),
        shipper_bin TEXT NOT NULL,
        shipper_name TEXT NOT NULL,
        consignee_bin TEXT NOT NULL,
        consignee_name TEXT NOT NULL,
        substance TEXT NOT NULL,
        quantity_kg REAL NOT NULL,
        moved_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        origin_region TEXT NOT NULL,
        origin_city TEXT NOT NULL,
        destination_region TEXT NOT NULL,
        destination_city TEXT NOT NULL
    )""",
]
COMPANY_WORDS = [
    "Khim",
    "Prom",
    "Trade",
    "Agro",
    "Farm",
    "Tech",
    "Invest",
    "Service",
    "Lab",
    "Standard",
]


def write_admin_offences(
    world: w.World, out: Path, database_url: str | None = None
) -> tuple[dict, list[PlantedRow]]:
    """Write admin_offences.sqlite with planted penalties above the maximum, late decisions
    and duplicate penalties for one event."""
    settings = world.settings.admin_offences
    planted_rates = settings.planted
    db = _open(world, out, "admin_offences", ADMIN_DDL, database_url)
    articles = list(settings.articles)
    db.insert(
        "articles",
        {
            "article": articles,
            "title": [settings.articles[a].title for a in articles],
            "max_fine_mrp": [settings.articles[a].max_fine_mrp for a in articles],
        },
    )
    article_array = np.array(articles, dtype=object)
    max_fine = np.array([settings.articles[a].max_fine_mrp for a in articles])
    share = np.array([settings.articles[a].share for a in articles])
    share = share / share.sum()
    day_weight = day_weights(world.calendar, world.settings.calendar.weekday_factors, 1.2)
    hour_probability = world.crime.hour_probability
    mrp_years = np.array(sorted(settings.mrp_kzt))
    mrp_values = np.array([settings.mrp_kzt[year] for year in mrp_years.tolist()])
    planted: list[PlantedRow] = []
    next_offence = 1
    low, high = settings.decision_delay_days
    for week in range(world.weeks):
        events, rng = background_week(
            world,
            w.STREAM_ADMIN,
            week,
            world.counts["admin_offences"],
            day_weight,
            hour_probability,
        )
        size = len(events)
        event_ref = np.arange(next_offence, next_offence + size)
        article = rng.choice(len(articles), size=size, p=share)
        penalty = 1 + (rng.random(size) * max_fine[article]).astype(np.int64)
        delay_days = rng.integers(low, high + 1, size)
        offender = rng.integers(0, world.persons.size, size)
        above = rng.random(size) < planted_rates.penalty_above_maximum
        late = rng.random(size) < planted_rates.decision_after_limitation
        penalty[above] = max_fine[article[above]] + rng.integers(1, 21, int(above.sum()))
        delay_days[late] = settings.limitation_days + rng.integers(2, 61, int(late.sum()))
        # Duplicates: a second decision for the same event and offender, days after the
        # first, drawn among rows without another planted violation so each row has one kind.
        duplicate = np.flatnonzero(
            (rng.random(size) < planted_rates.duplicate_penalty) & ~above & ~late
        )
        rows = np.concatenate([np.arange(size), duplicate])
        extra_days = np.concatenate([np.zeros(size, np.int64), rng.integers(1, 10, len(duplicate))])
        count = len(rows)
        offence_id = np.arange(next_offence, next_offence + count)
        next_offence += count
        hour, second, cell = events.hour[rows], events.second[rows], events.cell[rows]
        region = world.grid_region[cell]
        decision_hour = (hour // 24 + delay_days[rows] + extra_days) * 24 + rng.integers(
            9, 18, count
        )
        decision_text = _text(world, decision_hour, second, region)
        # The MRP of the decision year, or of the first listed year for earlier decisions.
        year_index = np.searchsorted(mrp_years, world.hour_year[decision_hour], side="right") - 1
        mrp = mrp_values[np.maximum(year_index, 0)]
        lat, lon = w.points_in_cells(rng, world.grid, cell)
        offender_rows = offender[rows]
        db.insert(
            "offences",
            {
                "offence_id": offence_id,
                "protocol_no": w.numbered("AP", offence_id, 10),
                "event_ref": w.numbered("EV", event_ref[rows], 10),
                "article": article_array[article[rows]],
                "offence_at": _text(world, hour, second, region),
                "decision_at": decision_text,
                "updated_at": _text(
                    world, decision_hour + rng.integers(1, 72, count), second, region
                ),
                "offender_iin": world.persons.take("iins", offender_rows),
                "offender_name": world.persons.take("names", offender_rows),
                "offender_birth_date": world.persons.take("birth_date_text", offender_rows),
                "region_code": _regions(world, region),
                "city": _city(world, cell),
                "lat": lat,
                "lon": lon,
                "penalty_mrp": penalty[rows],
                "penalty_kzt": penalty[rows] * mrp,
            },
        )
        ids = offence_id.tolist()
        for i in np.flatnonzero(above).tolist():
            planted.append(
                (
                    "penalty_above_maximum",
                    "admin_offences",
                    "offences",
                    ids[i],
                    f"penalty_mrp={penalty[i]} max={max_fine[article[i]]}",
                )
            )
        for i in np.flatnonzero(late).tolist():
            planted.append(
                (
                    "decision_after_limitation",
                    "admin_offences",
                    "offences",
                    ids[i],
                    f"decision_days={delay_days[i]} limit={settings.limitation_days}",
                )
            )
        for k, i in enumerate(duplicate.tolist()):
            planted.append(
                (
                    "duplicate_penalty",
                    "admin_offences",
                    "offences",
                    ids[size + k],
                    f"duplicates offence_id={ids[i]}",
                )
            )
    return {"admin_offences": db.close()}, planted


def _date_text(dates: np.ndarray) -> list[str]:
    return np.datetime_as_string(dates.astype("datetime64[D]"), unit="D").tolist()


def write_probation(
    world: w.World, out: Path, database_url: str | None = None
) -> tuple[dict, list[PlantedRow]]:
    """Write probation.sqlite with planted missed check-ins left without a warning and
    check-ins recorded after the sentence ended."""
    settings = world.settings.probation
    rng = w.rng_for(world.seed, w.STREAM_PROBATION)
    people = max(20, int(round(world.incidents * world.settings.probation_persons_per_incident)))
    start = np.datetime64(world.calendar.start, "D")
    end = start + world.calendar.days
    sentence_start = start - 364 + rng.integers(0, world.calendar.days + 364 - 28, people)
    weeks = rng.integers(settings.sentence_weeks[0], settings.sentence_weeks[1] + 1, people)
    sentence_end = sentence_start + weeks * 7
    person = rng.integers(0, world.persons.size, people)
    cell = world.population_sampler.draw(rng, size=people)
    region = world.grid_region[cell]
    office = [
        f"UIS-{r}-{p % 5 + 1:02d}"
        for r, p in zip(_regions(world, region).to_pylist(), cell.tolist(), strict=True)
    ]
    interval = settings.checkin_interval_days
    db = _open(world, out, "probation", PROBATION_DDL, database_url)
    db.insert(
        "probationers",
        {
            "person_id": list(range(1, people + 1)),
            "iin": world.persons.take("iins", person),
            "full_name": world.persons.take("names", person),
            "birth_date": world.persons.take("birth_date_text", person),
            "region_code": _regions(world, region),
            "city": _city(world, cell),
            "office_code": office,
            "sentence_start": _date_text(sentence_start),
            "sentence_end": _date_text(sentence_end),
            "checkin_interval_days": [interval] * people,
        },
    )
    planted: list[PlantedRow] = []
    next_checkin = 1
    chunk = 5000
    for first in range(0, people, chunk):
        chunk_rng = w.rng_for(world.seed, w.STREAM_PROBATION, 1 + first // chunk)
        dates, owners = [], []
        after_end = []
        for p in range(first, min(first + chunk, people)):
            schedule = np.arange(sentence_start[p] + interval, sentence_end[p], interval)
            schedule = schedule[(schedule >= start) & (schedule < end)]
            extra = sentence_end[p] + interval
            if (
                start <= extra < end
                and chunk_rng.random() < settings.planted.checkin_after_sentence_end
            ):
                schedule = np.append(schedule, extra)
                after_end.append(len(dates) + len(schedule) - 1)
            dates.extend(schedule.tolist())
            owners.extend([p] * len(schedule))
        size = len(dates)
        if size == 0:
            continue
        date_array = np.array(dates, dtype="datetime64[D]")
        owner = np.array(owners)
        missed = chunk_rng.random(size) < settings.missed_checkin_probability
        is_after_end = np.zeros(size, dtype=bool)
        is_after_end[after_end] = True
        missed &= ~is_after_end
        unwarned = missed & (chunk_rng.random(size) < settings.planted.missed_without_warning)
        checkin_id = np.arange(next_checkin, next_checkin + size)
        next_checkin += size
        date_text = _date_text(date_array)
        checkin_time = chunk_rng.integers(9 * 3600, 18 * 3600, size)
        warning_days = date_array + chunk_rng.integers(1, 6, size)
        warning_text = _date_text(warning_days)
        checkin_hour = (date_array - start).astype(np.int64) * 24 + checkin_time // 3600
        checkin_text = _text(world, checkin_hour, checkin_time % 3600, region[owner])
        checked = pc.if_else(pa.array(missed), pa.scalar(None, pa.string()), checkin_text)
        warnings = [
            t if m and not u else None
            for m, u, t in zip(missed.tolist(), unwarned.tolist(), warning_text, strict=True)
        ]
        db.insert(
            "checkins",
            {
                "checkin_id": checkin_id.tolist(),
                "person_id": (owner + 1).tolist(),
                "scheduled_date": date_text,
                "status": np.where(missed, "missed", "attended").tolist(),
                "checked_in_at": checked,
                "warning_issued_at": warnings,
                "office_code": [office[o] for o in owner.tolist()],
                "updated_at": pc.binary_join_element_wise(
                    pa.array(_date_text(date_array + 6), pa.string()), " 18:00:00", ""
                ),
            },
        )
        for i in np.flatnonzero(unwarned).tolist():
            planted.append(
                (
                    "missed_without_warning",
                    "probation",
                    "checkins",
                    int(checkin_id[i]),
                    f"person_id={owner[i] + 1}",
                )
            )
        for i in after_end:
            planted.append(
                (
                    "checkin_after_sentence_end",
                    "probation",
                    "checkins",
                    int(checkin_id[i]),
                    f"person_id={owner[i] + 1} sentence_end={sentence_end[owner[i]]}",
                )
            )
    return {"probation": db.close()}, planted


def _plan_spikes(rng, holders: int, months: np.ndarray, planted) -> dict[tuple[int, str], float]:
    """Draw the (holder, month) pairs whose movements carry factor times the usual volume."""
    spike_count = max(1, int(round(holders * planted.volume_spikes_per_1000_holders / 1000)))
    spike_holder = rng.choice(holders, size=min(spike_count, holders), replace=False)
    spike_month = months[rng.integers(0, len(months), len(spike_holder))]
    low, high = planted.volume_spike_factor
    spike_factor = np.round(rng.uniform(low, high, len(spike_holder)), 2)
    return {
        (int(h), str(m)): f
        for h, m, f in zip(spike_holder.tolist(), spike_month, spike_factor.tolist(), strict=True)
    }


def write_precursors(
    world: w.World, out: Path, database_url: str | None = None
) -> tuple[dict, list[PlantedRow]]:
    """Write precursors.sqlite with planted monthly volume spikes and unlicensed movements."""
    settings = world.settings.precursor
    rng = w.rng_for(world.seed, w.STREAM_PRECURSOR)
    movements_total = world.incidents * world.settings.precursor_movements_per_incident
    holders = max(10, int(round(movements_total * settings.licences_per_movement)))
    bins = make_bins(rng, holders * 2 + 200)
    holder_bin, consignee_bins, stranger_bins = (
        bins[:holders],
        bins[holders : holders * 2],
        bins[holders * 2 :],
    )
    names = [
        f"TOO {COMPANY_WORDS[a]}{COMPANY_WORDS[b]}-{i + 1}"
        for i, (a, b) in enumerate(
            rng.integers(0, len(COMPANY_WORDS), (holders * 2 + 200, 2)).tolist()
        )
    ]
    substances = np.array(settings.substances, dtype=object)
    substance = rng.integers(0, len(substances), holders)
    scale = np.exp(rng.normal(0, 0.7, holders))
    monthly_max = np.round(settings.quantity_kg_median * scale * 8, -1)
    cell = world.population_sampler.draw(rng, size=holders)
    region = world.grid_region[cell]
    start = np.datetime64(world.calendar.start, "D")
    valid_from = start - rng.integers(30, 2000, holders)
    valid_to = start + world.calendar.days + rng.integers(30, 900, holders)
    db = _open(world, out, "precursors", PRECURSOR_DDL, database_url)
    db.insert(
        "licences",
        {
            "licence_id": list(range(1, holders + 1)),
            "licence_no": [f"PRC-{i:06d}" for i in range(1, holders + 1)],
            "holder_bin": holder_bin,
            "holder_name": names[:holders],
            "substance": substances[substance].tolist(),
            "max_monthly_kg": monthly_max.tolist(),
            "valid_from": _date_text(valid_from),
            "valid_to": _date_text(valid_to),
            "region_code": _regions(world, region),
            "city": _city(world, cell),
        },
    )
    months = np.unique(world.calendar.dates.astype("datetime64[M]"))
    spikes = _plan_spikes(rng, holders, months, settings.planted)
    planted: list[PlantedRow] = [
        ("volume_spike", "precursors", "licences", h + 1, f"month={m} factor={f}")
        for (h, m), f in sorted(spikes.items())
    ]
    weekly = movements_total / world.weeks
    next_movement = 1
    city_names = np.array(world.places.name, dtype=object)
    for week in range(world.weeks):
        week_rng = w.rng_for(world.seed, w.STREAM_PRECURSOR, 1 + week)
        first_day = start + week * 7
        week_months = {str(m) for m in (first_day + np.arange(7)).astype("datetime64[M]")}
        size = int(week_rng.poisson(weekly))
        licence = week_rng.integers(0, holders, size)
        # One extra movement per spiked holder in every week that touches the spike month.
        extra = [h for (h, m) in sorted(spikes) if m in week_months]
        licence = np.concatenate([licence, np.array(extra, dtype=np.int64)])
        size = len(licence)
        day = first_day + week_rng.integers(0, 7, size)
        seconds = week_rng.integers(8 * 3600, 20 * 3600, size)
        quantity = np.round(
            settings.quantity_kg_median * scale[licence] * np.exp(week_rng.normal(0, 0.4, size)), 1
        )
        month_text = day.astype("datetime64[M]").astype(str)
        factor = np.array(
            [
                spikes.get((h, m), 1.0)
                for h, m in zip(licence.tolist(), month_text.tolist(), strict=True)
            ]
        )
        quantity = np.round(quantity * factor, 1)
        unlicensed = week_rng.random(size) < settings.planted.movement_without_licence
        shipper = np.array(holder_bin, dtype=object)[licence]
        shipper_name = np.array(names[:holders], dtype=object)[licence]
        stranger = week_rng.integers(0, len(stranger_bins), size)
        shipper[unlicensed] = np.array(stranger_bins, dtype=object)[stranger[unlicensed]]
        shipper_name[unlicensed] = np.array(names[holders * 2 :], dtype=object)[
            stranger[unlicensed]
        ]
        consignee = week_rng.integers(0, holders, size)
        destination = world.population_sampler.draw(week_rng, size=size)
        order = np.lexsort((licence, seconds, day))
        movement_id = np.arange(next_movement, next_movement + size)
        next_movement += size
        origin_cell = cell[licence]
        moved_hour = (day - start).astype(np.int64) * 24 + seconds // 3600
        moved = _text(world, moved_hour, seconds % 3600, region[licence])
        rows = order
        db.insert(
            "movements",
            {
                "movement_id": movement_id.tolist(),
                "waybill_no": [f"WB{m:09d}" for m in movement_id.tolist()],
                "licence_id": [
                    None if u else int(h) + 1
                    for u, h in zip(unlicensed[rows].tolist(), licence[rows].tolist(), strict=True)
                ],
                "shipper_bin": shipper[rows].tolist(),
                "shipper_name": shipper_name[rows].tolist(),
                "consignee_bin": np.array(consignee_bins, dtype=object)[consignee[rows]].tolist(),
                "consignee_name": np.array(names[holders : holders * 2], dtype=object)[
                    consignee[rows]
                ].tolist(),
                "substance": substances[substance[licence[rows]]].tolist(),
                "quantity_kg": quantity[rows].tolist(),
                "moved_at": moved.take(rows),
                "updated_at": moved.take(rows),
                "origin_region": _regions(world, region[licence[rows]]),
                "origin_city": city_names[world.grid.place[origin_cell[rows]]].tolist(),
                "destination_region": _regions(world, world.grid_region[destination[rows]]),
                "destination_city": _city(world, destination[rows]),
            },
        )
        for position, i in enumerate(rows.tolist()):
            if unlicensed[i]:
                planted.append(
                    (
                        "movement_without_licence",
                        "precursors",
                        "movements",
                        int(movement_id[position]),
                        f"shipper_bin={shipper[i]}",
                    )
                )
    return {"precursors": db.close()}, planted
