"""Data tests of fct_incidents on incremental runs, which check the rows the run wrote.

Each case builds fct_incidents on the test_marts fixture lake, appends silver rows, runs
fct_incidents incrementally and then runs its data tests.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from test_marts import HOUSTON_A, _duckdb_profile, write_fixture_lake
from test_marts_incremental import _houston

pytestmark = pytest.mark.integration

# Cautious: leave out the tests that also read models downstream of fct_incidents.
BUILD = ["build", "--select", "+fct_incidents", "--indirect-selection", "cautious"]
# The staging tests would stop a build before fct_incidents on the invalid rows, so the
# cases run the model and then only its own tests.
RUN = ["run", "--select", "+fct_incidents"]
TEST = ["test", "--select", "fct_incidents", "--indirect-selection", "cautious"]


def _append(lake: Path, rows: list[dict]) -> None:
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    path = lake / "silver" / "houston_crime"
    schema = pa.schema(DeltaTable(str(path)).schema().to_arrow())
    write_deltalake(str(path), pa.Table.from_pylist(rows, schema=schema), mode="append")


def _built(tmp_path: Path):
    from jobs.marts import run_dbt

    lake = tmp_path / "lake"
    write_fixture_lake(lake)
    profile = _duckdb_profile(tmp_path, lake)
    run_dbt(BUILD, profile=profile)
    return lake, profile


def _failed_tests(error) -> list[str]:
    return [node.split(":")[0] for node in error.failed_nodes]


def _new_row(incident_id: str) -> dict:
    return _houston(incident_id, dt.datetime(2010, 1, 27, 8), HOUSTON_A, loaded_days=2)


def test_incremental_run_finds_repeated_key(tmp_path):
    from jobs.marts import DbtRunError, run_dbt

    lake, profile = _built(tmp_path)
    # Two loads of h7 in one batch: delete+insert inserts both.
    _append(lake, [_new_row("h7"), _new_row("h7")])

    run_dbt(RUN, profile=profile)
    with pytest.raises(DbtRunError) as raised:
        run_dbt(TEST, profile=profile)

    failed = _failed_tests(raised.value)
    assert any(node.startswith("test.boljam.unique_fct_incidents_incident_key") for node in failed)


def test_incremental_run_finds_invalid_category(tmp_path):
    from jobs.marts import DbtRunError, run_dbt

    lake, profile = _built(tmp_path)
    invalid = {**_new_row("h7"), "category": "unknown"}
    _append(lake, [invalid])

    run_dbt(RUN, profile=profile)
    with pytest.raises(DbtRunError) as raised:
        run_dbt(TEST, profile=profile)

    failed = _failed_tests(raised.value)
    assert any(
        node.startswith("test.boljam.accepted_values_fct_incidents_category") for node in failed
    )


def test_incremental_run_skips_older_rows(tmp_path):
    import duckdb

    from jobs.marts import run_dbt

    lake, profile = _built(tmp_path)
    # An invalid category in a row of the first build, which the next run does not write.
    with duckdb.connect(str(tmp_path / "boljam.duckdb")) as connection:
        connection.execute(
            "update marts.fct_incidents set category = 'unknown' where incident_id = 'h1'"
        )
    _append(lake, [_new_row("h7")])

    run_dbt(RUN, profile=profile)
    run_dbt(TEST, profile=profile)

    with duckdb.connect(str(tmp_path / "boljam.duckdb"), read_only=True) as connection:
        written = connection.execute(
            "select incident_id from marts.fct_incidents"
            " where dbt_updated_at = (select max(dbt_updated_at) from marts.fct_incidents)"
        ).fetchall()
    assert written == [("h7",)]
