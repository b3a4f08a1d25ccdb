"""Sources added by configuration alone, landed from real SQLite and PostgreSQL databases."""

import sqlite3
import uuid

import pytest
import yaml
from deltalake import DeltaTable

from jobs.ingest.run import ingest_source
from jobs.settings import CONF_DIR

NEW_SOURCE = {
    "kind": "sql",
    "description": "Test registry of street offences in Almaty.",
    "connection": {"url_env": "BOLJAM_TEST_SOURCE_URL"},
    "table": "offences",
    "primary_key": "offence_id",
    "watermark": "updated_at",
    "city": "almaty",
    "timezone": "Asia/Almaty",
    "timestamp": {
        "columns": ["occurred_at"], "format": "%Y-%m-%d %H:%M:%S", "zone": "utc",
        "precision": "minute",
    },
    "coordinates": {"x": "lon", "y": "lat", "crs": "EPSG:4326"},
    "area": {"lon_min": 76.7, "lat_min": 43.1, "lon_max": 77.2, "lat_max": 43.4},
    "category": {"column": "kind", "mapping": {"theft": "property", "robbery": "street"}},
    "personal_data": {"victim_name": "pseudonymise"},
    "keep_columns": ["victim_name"],
}

ROWS = [
    (1, "2024-02-28 10:00:00", "theft", 76.90, 43.25, "Aigerim Nurlanovna", "2024-03-01 00:00:01"),
    (2, "2024-02-28 11:00:00", "robbery", 76.95, 43.24, "Ivan Petrov", "2024-03-01 00:00:02"),
    (3, "2024-02-28 12:00:00", "theft", 0.0, 0.0, "Dana Serikova", "2024-03-01 00:00:03"),
]


@pytest.fixture
def catalogue_copy(tmp_path, monkeypatch):
    """conf/sources.yml plus the new source, with no code change."""
    catalogue = yaml.safe_load((CONF_DIR / "sources.yml").read_text(encoding="utf-8"))
    catalogue["sources"]["almaty_registry"] = NEW_SOURCE
    path = tmp_path / "sources.yml"
    path.write_text(yaml.safe_dump(catalogue, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("BOLJAM_SOURCES", str(path))
    return path


def silver_rows(profile):
    table = DeltaTable(str(profile.table_path("silver", "almaty_registry")))
    return {row["incident_id"]: row for row in table.to_pyarrow_table().to_pylist()}


def rejects(profile):
    table = DeltaTable(str(profile.table_path("silver", "rejects")))
    return table.to_pyarrow_table().to_pylist()


def test_new_sqlite_source_lands_by_configuration(
    tmp_profile, catalogue_copy, tmp_path, monkeypatch
):
    db = tmp_path / "almaty.sqlite"
    with sqlite3.connect(db) as connection:
        connection.execute(
            "create table offences (offence_id integer primary key, occurred_at text, kind text,"
            " lon real, lat real, victim_name text, updated_at text)"
        )
        connection.executemany("insert into offences values (?, ?, ?, ?, ?, ?, ?)", ROWS)
    monkeypatch.setenv("BOLJAM_TEST_SOURCE_URL", f"sqlite:///{db}")

    result = ingest_source("almaty_registry")

    assert result["bronze"]["rows"] == 3
    assert result["silver"][0]["inserted"] == 2
    assert result["silver"][0]["rejected"] == 1
    silver = silver_rows(tmp_profile)
    assert sorted(silver) == ["1", "2"]
    # Almaty was UTC+6 until 2024-03-01, so 10:00 UTC on 28 February is 16:00 local.
    assert silver["1"]["occurred_at_local"].hour == 16
    assert silver["1"]["victim_name"].startswith("ps_")
    assert [r["reason_code"] for r in rejects(tmp_profile)] == ["zero_coordinates"]


@pytest.mark.integration
def test_postgres_source_incremental_update_and_reinsert(
    tmp_profile, catalogue_copy, postgres_url, monkeypatch
):
    import psycopg2

    database = f"boljam_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(postgres_url)
    admin.autocommit = True
    admin.cursor().execute(f"create database {database}")
    url = postgres_url.rsplit("/", 1)[0] + f"/{database}"
    monkeypatch.setenv("BOLJAM_TEST_SOURCE_URL", url)
    connection = psycopg2.connect(url)
    connection.autocommit = True
    cursor = connection.cursor()
    cursor.execute(
        "create table offences (offence_id integer primary key, occurred_at timestamp,"
        " kind text, lon double precision, lat double precision, victim_name text,"
        " updated_at timestamp not null)"
    )
    try:
        cursor.executemany("insert into offences values (%s, %s, %s, %s, %s, %s, %s)", ROWS)

        first = ingest_source("almaty_registry")
        assert first["bronze"]["rows"] == 3
        assert sorted(silver_rows(tmp_profile)) == ["1", "2"]

        # Only new rows land on the next run.
        cursor.execute(
            "insert into offences values (4, '2024-03-02 09:00:00', 'theft', 76.91, 43.26,"
            " 'Asel', '2024-03-03 00:00:00')"
        )
        second = ingest_source("almaty_registry")
        assert second["bronze"]["rows"] == 1
        assert second["silver"][0]["inserted"] == 1
        # After 2024-03-01 Kazakhstan keeps UTC+5: 09:00 UTC is 14:00 local.
        assert silver_rows(tmp_profile)["4"]["occurred_at_local"].hour == 14

        # An updated row replaces the older version in silver.
        cursor.execute(
            "update offences set kind = 'robbery', updated_at = '2024-03-04 00:00:00'"
            " where offence_id = 1"
        )
        third = ingest_source("almaty_registry")
        assert third["silver"][0]["updated"] == 1
        assert silver_rows(tmp_profile)["1"]["category"] == "street"

        # A deleted and re-inserted key arrives as a new version of the same key.
        cursor.execute("delete from offences where offence_id = 2")
        cursor.execute(
            "insert into offences values (2, '2024-03-05 08:00:00', 'theft', 76.93, 43.22,"
            " 'Ivan Petrov', '2024-03-05 00:00:00')"
        )
        fourth = ingest_source("almaty_registry")
        assert fourth["silver"][0]["updated"] == 1
        silver = silver_rows(tmp_profile)
        assert sorted(silver) == ["1", "2", "4"]
        assert silver["2"]["offense"] == "theft"

        # A run with nothing new lands nothing.
        fifth = ingest_source("almaty_registry")
        assert fifth["bronze"]["rows"] == 0
        assert fifth["silver"] == []
    finally:
        connection.close()
        admin.cursor().execute(f"drop database if exists {database} with (force)")
        admin.close()


def test_column_types_skip_other_schemas(postgres_url):
    """Drift checks compare the table the query reads, not a namesake in another schema."""
    import psycopg2

    from jobs.ingest.bronze import _connect, source_column_types

    database = f"boljam_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(postgres_url)
    admin.autocommit = True
    admin.cursor().execute(f"create database {database}")
    url = postgres_url.rsplit("/", 1)[0] + f"/{database}"
    try:
        with psycopg2.connect(url) as setup:
            cursor = setup.cursor()
            cursor.execute("create schema archive")
            cursor.execute("create table archive.offences (offence_id text, moved_on date)")
            cursor.execute("create table public.offences (offence_id integer, kind text)")
        connection = _connect(url)
        try:
            types = source_column_types(connection, "postgresql", "offences")
        finally:
            connection.close()
        assert types == {"offence_id": "integer", "kind": "text"}
    finally:
        admin.cursor().execute(f"drop database if exists {database} with (force)")
        admin.close()


def test_postgres_query_inlines_watermark_bounds():
    """PostgreSQL gets literal bounds, so the driver can stream the rows through COPY."""
    import datetime as dt

    from jobs.ingest.bronze import build_query
    from jobs.sources import load_catalogue

    source = load_catalogue(CONF_DIR / "sources.yml").sources["houston_crime"].model_copy(
        update={"kind": "sql", "table": "offences", "watermark": "updated_at"}
    )
    after, upper = dt.datetime(2024, 3, 1, 12, 30), dt.datetime(2024, 3, 2)
    query, params = build_query(source, ["id", "note"], after, upper, "postgresql")
    assert params == []
    assert query == (
        'select cast("id" as text) as "id", cast("note" as text) as "note" from "offences"'
        " where \"updated_at\" > '2024-03-01T12:30:00' and \"updated_at\" <= '2024-03-02T00:00:00'"
        ' order by "updated_at"'
    )
    text_query, _ = build_query(source, ["id"], None, "it's", "postgresql")
    assert text_query.endswith("where \"updated_at\" <= 'it''s' order by \"updated_at\"")
    sqlite_query, sqlite_params = build_query(source, ["id"], 5, 9, "sqlite")
    assert sqlite_params == [5, 9]
    assert sqlite_query.endswith(
        'where "updated_at" > ? and "updated_at" <= ? order by "updated_at"'
    )
