"""dbt build of the marts on small literal silver Delta tables, checked against hand counts.

Fixture calendar (all dates local):
- houston runs from Sat 2010-01-02 to Tue 2010-01-26, so the complete weeks start on
  2010-01-04, 2010-01-11 and 2010-01-18. It has cells A and B and the categories
  property, street and violent.
- portland runs from Mon 2016-08-01 to Wed 2016-08-10, so the one complete week starts
  on 2016-08-01. It has cells C and D and the categories property and street.
- edinburgh has Tue 2012-03-06 and Thu 2012-03-08 only, so no complete week.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

UTC = dt.UTC
LOADED_AT = dt.datetime.now(UTC).replace(microsecond=0)

# Points inside each city. The test derives their cells with h3, so they are real cells.
HOUSTON_A = (29.7604, -95.3698)
HOUSTON_B = (29.7000, -95.4000)
PORTLAND_C = (45.5152, -122.6784)
PORTLAND_D = (45.5500, -122.6500)
EDINBURGH_E = (55.9533, -3.1883)


def _incident(
    source: str,
    city: str,
    zone: str,
    precision: str,
    incident_id: str,
    local: dt.datetime,
    offense: str,
    category: str,
    point: tuple[float, float],
) -> dict:
    import h3

    lat, lon = point
    aware = local.replace(tzinfo=ZoneInfo(zone))
    return {
        "incident_id": incident_id,
        "source": source,
        "city": city,
        "occurred_at_utc": aware.astimezone(UTC),
        "occurred_at_local": local,
        "local_date": local.date(),
        "timezone": zone,
        "time_precision": precision,
        "offense": offense,
        "category": category,
        "lat": lat,
        "lon": lon,
        "h3_r7": h3.latlng_to_cell(lat, lon, 7),
        "h3_r8": h3.latlng_to_cell(lat, lon, 8),
        "h3_r9": h3.latlng_to_cell(lat, lon, 9),
        "quality_flags": "",
        "_batch_id": "batch-1",
        "_loaded_at": LOADED_AT,
        "_row_hash": f"hash-{source}-{incident_id}",
    }


def _houston_rows() -> list[dict]:
    def row(incident_id, local, offense, category, point):
        return _incident(
            "houston_crime", "houston", "America/Chicago", "hour",
            incident_id, local, offense, category, point,
        )  # fmt: skip

    rows = [
        # Saturday of a partial week: in fct_incidents only.
        row("h1", dt.datetime(2010, 1, 2, 10), "burglary", "property", HOUSTON_A),
        row("h2", dt.datetime(2010, 1, 4, 9), "burglary", "property", HOUSTON_A),
        row("h3", dt.datetime(2010, 1, 6, 14), "theft", "property", HOUSTON_A),
        # Sunday 23:30 local is Monday 05:30 UTC: it stays in the week of 2010-01-11.
        row("h4", dt.datetime(2010, 1, 17, 23, 30), "robbery", "street", HOUSTON_A),
        row("h5", dt.datetime(2010, 1, 19, 2), "murder", "violent", HOUSTON_B),
        # Tuesday of a partial week: in fct_incidents only.
        row("h6", dt.datetime(2010, 1, 26, 8), "auto_theft", "property", HOUSTON_B),
    ]
    extra = {
        "premise": "residence",
        "beat": "1A10",
        "location": "18",
        "address": "p1",
        "block": "p2",
    }
    return [{**r, **extra} for r in rows]


def _portland_rows() -> list[dict]:
    def row(incident_id, day, offense, category, point):
        return _incident(
            "portland_calls", "portland", "America/Los_Angeles", "day",
            incident_id, dt.datetime(2016, 8, day), offense, category, point,
        )  # fmt: skip

    rows = [
        row("p1", 1, "burglary", "property", PORTLAND_C),
        row("p2", 7, "street_crimes", "street", PORTLAND_C),
        row("p3", 10, "motor_vehicle_theft", "property", PORTLAND_D),
    ]
    extra = {
        "call_group": "BURGLARY",
        "final_case_type": "BURGP",
        "case_desc": "BURGLARY - PRIORITY",
        "census_tract": "5100",
    }
    return [{**r, **extra} for r in rows]


def _edinburgh_rows() -> list[dict]:
    def row(incident_id, day):
        return _incident(
            "edinburgh_accidents", "edinburgh", "Europe/London", "minute",
            incident_id, dt.datetime(2012, 3, day, 8, 15), "slight", "road_traffic", EDINBURGH_E,
        )  # fmt: skip

    extra = {
        "no_vehicle": "2",
        "no_casualt": "1",
        "road_type": "Roundabout",
        "speed_limi": "30",
        "light_cond": "Daylight",
        "weather": "Fine (without high winds)",
        "acc_type": "3",
    }
    return [{**row("e1", 6), **extra}, {**row("e2", 8), **extra}]


def _write_table(path: Path, rows: list[dict], extra_fields: list) -> None:
    import pyarrow as pa
    from deltalake import write_deltalake

    from jobs.schemas import SILVER_INCIDENT_COMMON

    schema = pa.schema(list(SILVER_INCIDENT_COMMON) + extra_fields)
    write_deltalake(str(path), pa.Table.from_pylist(rows, schema=schema))


def _write_rejects(path: Path) -> None:
    import pyarrow as pa
    from deltalake import write_deltalake

    from jobs.schemas import REJECTS

    row = {
        "source": "houston_crime",
        "batch_id": "batch-1",
        "record_key": "h99",
        "reason_code": "missing_coordinates",
        "reason_detail": "lat and lon are empty",
        "raw_record": '{"offense_id": "h99"}',
        "rejected_at": LOADED_AT,
    }
    write_deltalake(str(path), pa.Table.from_pylist([row], schema=REJECTS))


@pytest.fixture(scope="module")
def built_marts(tmp_path_factory) -> Path:
    """Write the fixture silver tables, run dbt build once and return the DuckDB file."""
    import pyarrow as pa

    from jobs.marts import run_dbt
    from jobs.settings import DbtSettings, load_profile

    root = tmp_path_factory.mktemp("marts")
    silver = root / "lake" / "silver"
    # Silver stores every source-specific column as text (see silver_schema in jobs/ingest).
    text = pa.string()
    _write_table(
        silver / "houston_crime",
        _houston_rows(),
        [pa.field(name, text) for name in ("premise", "beat", "location", "address", "block")],
    )
    _write_table(
        silver / "portland_calls",
        _portland_rows(),
        [
            pa.field(name, text)
            for name in ("call_group", "final_case_type", "case_desc", "census_tract")
        ],
    )
    _write_table(
        silver / "edinburgh_accidents",
        _edinburgh_rows(),
        [
            pa.field(name, text)
            for name in (
                "no_vehicle",
                "no_casualt",
                "road_type",
                "speed_limi",
                "light_cond",
                "weather",
                "acc_type",
            )
        ],
    )
    _write_rejects(silver / "rejects")

    # Not marts.duckdb: DuckDB names the catalog after the file, which would clash with
    # the marts schema.
    duckdb_path = root / "boljam.duckdb"
    profile = load_profile("embedded").model_copy(
        update={
            "lake_dir": str(root / "lake"),
            "var_dir": str(root / "var"),
            "dbt": DbtSettings(target="duckdb", duckdb_path=str(duckdb_path)),
        }
    )
    run_dbt(["build"], profile=profile)
    return duckdb_path


def _query(duckdb_path: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        return connection.execute(sql, parameters or []).fetchall()


def _weekly_count(duckdb_path: Path, cell: str, week_start: str, category: str) -> int:
    rows = _query(
        duckdb_path,
        "select incident_count from marts.agg_incidents_h3_weekly"
        " where h3_r8 = ? and week_start = cast(? as date) and category = ?",
        [cell, week_start, category],
    )
    assert len(rows) == 1, f"expected one panel row for {cell} {week_start} {category}: {rows}"
    return rows[0][0]


def test_fct_incidents_one_row_per_incident(built_marts):
    rows = _query(built_marts, "select source, count(*) from marts.fct_incidents group by 1")
    assert dict(rows) == {"houston_crime": 6, "portland_calls": 3, "edinburgh_accidents": 2}


def test_fct_incidents_key_and_local_week(built_marts):
    rows = _query(
        built_marts,
        "select incident_key, week_start, occurred_at_utc"
        " from marts.fct_incidents where incident_id = 'h4'",
    )
    assert len(rows) == 1
    incident_key, week_start, occurred_at_utc = rows[0]
    # md5('houston_crime|h4'), computed by hand with `printf 'houston_crime|h4' | md5sum`.
    assert incident_key == "895e08fe241235c539ab8851e9218978"
    assert week_start == dt.date(2010, 1, 11)
    assert occurred_at_utc.astimezone(UTC) == dt.datetime(2010, 1, 18, 5, 30, tzinfo=UTC)


def test_weekly_panel_size_per_city(built_marts):
    rows = _query(
        built_marts,
        "select city, count(*), sum(incident_count)"
        " from marts.agg_incidents_h3_weekly group by city",
    )
    # houston: 2 cells x 3 weeks x 3 categories; portland: 2 cells x 1 week x 2 categories.
    assert {city: (size, total) for city, size, total in rows} == {
        "houston": (18, 4),
        "portland": (4, 2),
    }


def test_weekly_panel_weeks(built_marts):
    rows = _query(
        built_marts,
        "select distinct city, week_start, week_end from marts.agg_incidents_h3_weekly"
        " order by city, week_start",
    )
    assert rows == [
        ("houston", dt.date(2010, 1, 4), dt.date(2010, 1, 10)),
        ("houston", dt.date(2010, 1, 11), dt.date(2010, 1, 17)),
        ("houston", dt.date(2010, 1, 18), dt.date(2010, 1, 24)),
        ("portland", dt.date(2016, 8, 1), dt.date(2016, 8, 7)),
    ]


def test_weekly_panel_counts_and_zeros(built_marts):
    import h3

    cell_a = h3.latlng_to_cell(*HOUSTON_A, 8)
    cell_b = h3.latlng_to_cell(*HOUSTON_B, 8)
    cell_c = h3.latlng_to_cell(*PORTLAND_C, 8)
    cell_d = h3.latlng_to_cell(*PORTLAND_D, 8)
    assert _weekly_count(built_marts, cell_a, "2010-01-04", "property") == 2
    assert _weekly_count(built_marts, cell_a, "2010-01-11", "property") == 0
    assert _weekly_count(built_marts, cell_a, "2010-01-11", "street") == 1
    assert _weekly_count(built_marts, cell_a, "2010-01-18", "street") == 0
    assert _weekly_count(built_marts, cell_b, "2010-01-18", "violent") == 1
    assert _weekly_count(built_marts, cell_b, "2010-01-04", "violent") == 0
    assert _weekly_count(built_marts, cell_c, "2016-08-01", "property") == 1
    assert _weekly_count(built_marts, cell_c, "2016-08-01", "street") == 1
    # p3 falls in the partial week of 2016-08-08, so cell D is in the study area with zeros.
    assert _weekly_count(built_marts, cell_d, "2016-08-01", "property") == 0


def _empty_lake_profile(tmp_path: Path):
    from jobs.settings import DbtSettings, load_profile

    return load_profile("embedded").model_copy(
        update={
            "lake_dir": str(tmp_path / "empty_lake"),
            "var_dir": str(tmp_path / "var"),
            "dbt": DbtSettings(target="duckdb", duckdb_path=str(tmp_path / "empty.duckdb")),
        }
    )


def test_run_dbt_names_failed_node(tmp_path):
    from jobs.marts import DbtRunError, run_dbt

    # An empty lake: the staging view fails because delta_scan finds no Delta table.
    with pytest.raises(DbtRunError) as caught:
        run_dbt(["run", "--select", "stg_houston__offenses"], profile=_empty_lake_profile(tmp_path))
    assert "model.boljam.stg_houston__offenses" in str(caught.value)
    assert len(caught.value.failed_nodes) == 1


def test_marts_command_exit_code(tmp_path, monkeypatch):
    import argparse

    from jobs import marts

    monkeypatch.setattr(marts, "load_profile", lambda name=None: _empty_lake_profile(tmp_path))
    args = argparse.Namespace(dbt_args=["run", "--select", "stg_houston__offenses"], profile=None)
    assert marts.run(args) == 1
