"""The incremental incident panels against a fresh build of the same lake.

The fixture lake of test_marts gets late updates and new incidents in silver. After each
change an incremental `dbt run` must leave agg_incidents_h3_weekly and
agg_incidents_area_daily equal to a build into an empty database, and a rerun without new
loads must change no row.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from test_marts import (
    HOUSTON_A,
    HOUSTON_B,
    LOADED_AT,
    _duckdb_profile,
    _houston_rows,
    _incident,
    write_fixture_lake,
)

pytestmark = pytest.mark.integration

PANELS = ("agg_incidents_h3_weekly", "agg_incidents_area_daily")
SELECT = ["--select", *(f"+{name}" for name in PANELS)]
# A point in Houston whose r8 cell contains no fixture incident.
HOUSTON_C = (29.8000, -95.3000)


def _run(root: Path, lake: Path) -> None:
    from jobs.marts import run_dbt

    run_dbt(["run", *SELECT], profile=_duckdb_profile(root, lake))


def _panels(database: Path) -> dict[str, list[tuple]]:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as connection:
        return {
            name: connection.execute(f"select * from marts.{name} order by all").fetchall()
            for name in PANELS
        }


def _fresh_build(tmp_path: Path, lake: Path, name: str) -> dict[str, list[tuple]]:
    root = tmp_path / name
    _run(root, lake)
    return _panels(root / "boljam.duckdb")


def _houston(incident_id, local, point, loaded_days):
    row = _incident(
        "houston_crime", "houston", "America/Chicago", "hour",
        incident_id, local, "burglary", "property", point,
    )  # fmt: skip
    extra = {"premise": "residence", "beat": "1A10", "location": "18", "address": "p1"}
    return {
        **row,
        **extra,
        "block": "p2",
        "_loaded_at": LOADED_AT + dt.timedelta(days=loaded_days),
        "_row_hash": f"hash-{incident_id}-{loaded_days}",
    }


def _upsert(table_path: Path, rows: list[dict]) -> None:
    """Replace the silver rows of the same incident_id, as the silver merge does."""
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    table = DeltaTable(str(table_path))
    keys = ", ".join(f"'{row['incident_id']}'" for row in rows)
    table.delete(f"incident_id in ({keys})")
    schema = table.schema().to_arrow()
    write_deltalake(
        str(table_path), pa.Table.from_pylist(rows, schema=pa.schema(schema)), mode="append"
    )


def _weekly_count(panels, cell, week_start: dt.date) -> int:
    matches = [
        row[5]
        for row in panels["agg_incidents_h3_weekly"]
        if row[1] == cell and row[2] == week_start and row[4] == "property"
    ]
    assert len(matches) == 1, f"expected one row for {cell} {week_start}: {matches}"
    return matches[0]


def test_incremental_panels_equal_fresh_build(tmp_path):
    import h3

    lake = tmp_path / "lake"
    write_fixture_lake(lake)
    root = tmp_path / "incremental"
    database = root / "boljam.duckdb"
    _run(root, lake)
    first = _panels(database)

    _run(root, lake)
    assert _panels(database) == first

    # Late update: h3 moves from cell A on 2010-01-06 to cell B on 2010-01-20. New load: h7
    # on Monday 2010-02-01 in cell A, which makes the week of 2010-01-25 complete.
    houston = lake / "silver" / "houston_crime"
    assert any(row["incident_id"] == "h3" for row in _houston_rows())
    _upsert(
        houston,
        [
            _houston("h3", dt.datetime(2010, 1, 20, 14), HOUSTON_B, 1),
            _houston("h7", dt.datetime(2010, 2, 1, 9), HOUSTON_A, 1),
        ],
    )
    _run(root, lake)
    updated = _panels(database)
    assert updated == _fresh_build(tmp_path, lake, "fresh_1")
    cell_a = h3.latlng_to_cell(*HOUSTON_A, 8)
    cell_b = h3.latlng_to_cell(*HOUSTON_B, 8)
    # h2 stays in the week of 2010-01-04, h3 now counts in cell B, and h6 of Tuesday
    # 2010-01-26 counts in the newly complete week.
    assert _weekly_count(updated, cell_a, dt.date(2010, 1, 4)) == 1
    assert _weekly_count(updated, cell_b, dt.date(2010, 1, 18)) == 1
    assert _weekly_count(updated, cell_b, dt.date(2010, 1, 25)) == 1

    _run(root, lake)
    assert _panels(database) == updated

    # New load in a new cell: every week of the city gets a row for it.
    _upsert(houston, [_houston("h8", dt.datetime(2010, 1, 12, 9), HOUSTON_C, 2)])
    _run(root, lake)
    with_cell = _panels(database)
    assert with_cell == _fresh_build(tmp_path, lake, "fresh_2")
    cell_c = h3.latlng_to_cell(*HOUSTON_C, 8)
    assert _weekly_count(with_cell, cell_c, dt.date(2010, 1, 11)) == 1
    assert _weekly_count(with_cell, cell_c, dt.date(2010, 1, 25)) == 0


def test_incremental_drops_weeks_out_of_range(tmp_path):
    lake = tmp_path / "lake"
    write_fixture_lake(lake)
    root = tmp_path / "incremental"
    _run(root, lake)

    # h6 on Tuesday 2010-01-26 is the last houston incident. Moving it to 2010-01-21 ends
    # the data on Thursday 2010-01-21, so the week of 2010-01-18 is no longer complete.
    _upsert(
        lake / "silver" / "houston_crime",
        [_houston("h6", dt.datetime(2010, 1, 21, 8), HOUSTON_B, 1)],
    )
    _run(root, lake)
    panels = _panels(root / "boljam.duckdb")
    assert panels == _fresh_build(tmp_path, lake, "fresh")
    weeks = {row[2] for row in panels["agg_incidents_h3_weekly"] if row[0] == "houston"}
    assert weeks == {dt.date(2010, 1, 4), dt.date(2010, 1, 11)}
    days = {row[1] for row in panels["agg_incidents_area_daily"] if row[0] == "houston"}
    assert max(days) == dt.date(2010, 1, 21)
