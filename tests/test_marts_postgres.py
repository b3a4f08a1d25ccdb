"""dbt build of the marts on the postgres target, into a fresh database on a real server.

jobs/marts.py copies the fixture Delta tables of test_marts into the silver and gold
schemas of the database, and dbt builds every model, data test and unit test there. Two
marts are then read with psycopg2 and checked against hand counts; the fixture calendar
is in the docstring of test_marts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from test_marts import BUILD_VARS, write_fixture_lake

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def database_url(postgres_url):
    """Create a database with a unique name on the test server, and drop it afterwards."""
    import psycopg2

    name = f"boljam_marts_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(postgres_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"create database {name}")
    parts = urlsplit(postgres_url)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with admin.cursor() as cursor:
        cursor.execute(f"drop database if exists {name} with (force)")
    admin.close()


@pytest.fixture(scope="module")
def postgres_profile(tmp_path_factory):
    """Write the fixture lake and return a profile whose dbt target is postgres."""
    from jobs.settings import DbtSettings, load_profile

    root: Path = tmp_path_factory.mktemp("marts_postgres")
    write_fixture_lake(root / "lake")
    return load_profile("embedded").model_copy(
        update={
            "lake_dir": str(root / "lake"),
            "var_dir": str(root / "var"),
            "dbt": DbtSettings(target="postgres", duckdb_path=str(root / "unused.duckdb")),
        }
    )


@pytest.fixture(scope="module")
def built_postgres(postgres_profile, database_url) -> str:
    """Run dbt build on the postgres target and return the URL."""
    from jobs.marts import run_dbt

    run_dbt(["build", "--vars", BUILD_VARS], profile=postgres_profile, postgres_url=database_url)
    return database_url


def _query(url: str, sql: str, parameters: tuple = ()) -> list[tuple]:
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetchall()
    finally:
        connection.close()


def test_sources_copied_to_postgres(built_postgres):
    rows = _query(
        built_postgres,
        "select (select count(*) from silver.houston_crime),"
        " (select count(*) from silver.citizen_appeals),"
        " (select count(*) from gold.forecasts)",
    )
    assert rows == [(6, 4, 5)]


def test_area_daily_panel_on_postgres(built_postgres):
    rows = _query(
        built_postgres,
        "select city, count(*), sum(incident_count)"
        " from marts.agg_incidents_area_daily group by city",
    )
    # houston: 25 days x 3 categories; portland: 10 days x 2; edinburgh: 3 days x 1.
    assert {city: (size, total) for city, size, total in rows} == {
        "houston": (75, 6),
        "portland": (20, 3),
        "edinburgh": (3, 2),
    }


def test_area_daily_local_date_on_postgres(built_postgres):
    # h4 is Sunday 23:30 in Houston, already Monday in UTC: it counts on the local Sunday.
    rows = _query(
        built_postgres,
        "select local_date, incident_count from marts.agg_incidents_area_daily"
        " where city = 'houston' and category = 'street'"
        " and local_date between '2010-01-17' and '2010-01-18' order by local_date",
    )
    assert rows == [(dt.date(2010, 1, 17), 1), (dt.date(2010, 1, 18), 0)]


def test_appeals_weekly_on_postgres(built_postgres):
    rows = _query(
        built_postgres,
        "select category, region, urgency, week_start, appeal_count, duplicate_count,"
        " resolved_count from marts.agg_appeals_weekly order by week_start, category",
    )
    assert rows == [
        ("ЖКХ", "Астана", "высокая", dt.date(2026, 11, 30), 2, 1, 1),
        ("дороги", "Алматы", "низкая", dt.date(2026, 11, 30), 1, 0, 0),
        ("ЖКХ", "Астана", "высокая", dt.date(2026, 12, 7), 1, 0, 0),
    ]


def test_forecast_top_feature_on_postgres(built_postgres):
    # The JSON access is dispatched per adapter, so check the postgres form.
    rows = _query(
        built_postgres,
        "select h3_cell, run_id, top_feature from marts.fct_forecasts"
        " where target = 't1' order by h3_cell",
    )
    assert rows == [("cell_a", "new", "mean_all"), ("cell_b", "new", "mean_8")]


def test_second_run_replaces_sources(built_postgres, postgres_profile):
    from jobs.marts import run_dbt

    # A second run copies the lake again while the first build's views read the silver
    # tables. It runs last in this file because the copy drops those views.
    arguments = ["run", "--vars", BUILD_VARS, "--select", "stg_houston__offenses"]
    run_dbt(arguments, profile=postgres_profile, postgres_url=built_postgres)
    rows = _query(built_postgres, "select count(*) from staging.stg_houston__offenses")
    assert rows == [(6,)]
