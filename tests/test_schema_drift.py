"""Schema drift on a real SQLite source: new columns land, changed types and lost keys fail."""

import sqlite3

import pytest
import yaml
from deltalake import DeltaTable

from jobs.ingest.bronze import SchemaDriftError
from jobs.ingest.run import ingest_source

SOURCE = {
    "kind": "sql",
    "description": "Drift test registry.",
    "connection": {"url_env": "BOLJAM_DRIFT_URL"},
    "table": "cases",
    "primary_key": "case_id",
    "watermark": "case_id",
    "city": "astana",
    "timezone": "Asia/Almaty",
    "timestamp": {"columns": ["at"], "format": "%Y-%m-%d %H:%M", "zone": "local",
                  "precision": "minute"},
    "coordinates": {"x": "lon", "y": "lat"},
    "area": {"lon_min": 71.2, "lat_min": 51.0, "lon_max": 71.8, "lat_max": 51.3},
    "category": {"column": "kind", "mapping": {"theft": "property"}},
}


@pytest.fixture
def drift_source(tmp_profile, tmp_path, monkeypatch):
    catalogue = tmp_path / "sources.yml"
    catalogue.write_text(yaml.safe_dump({"sources": {"drift": SOURCE}}), encoding="utf-8")
    monkeypatch.setenv("BOLJAM_SOURCES", str(catalogue))
    db = tmp_path / "drift.sqlite"
    monkeypatch.setenv("BOLJAM_DRIFT_URL", f"sqlite:///{db}")
    with sqlite3.connect(db) as connection:
        connection.execute(
            "create table cases (case_id integer primary key, at text, kind text,"
            " lon real, lat real)"
        )
        connection.execute("insert into cases values (1, '2025-01-01 10:00', 'theft', 71.4, 51.1)")
    ingest_source("drift")
    return db


def test_new_column_is_added_to_bronze_and_reported(drift_source, tmp_profile):
    with sqlite3.connect(drift_source) as connection:
        connection.execute("alter table cases add column officer text")
        connection.execute(
            "insert into cases values (2, '2025-01-02 10:00', 'theft', 71.4, 51.1, 'B-17')"
        )
    result = ingest_source("drift", stage="bronze")
    assert result["bronze"]["new_columns"] == ("officer",)
    bronze = DeltaTable(str(tmp_profile.table_path("bronze", "drift"))).to_pyarrow_table()
    assert "officer" in bronze.column_names
    assert sorted(bronze["officer"].to_pylist(), key=str) == ["B-17", None]


def test_changed_type_fails_naming_column_and_types(drift_source):
    with sqlite3.connect(drift_source) as connection:
        connection.execute("alter table cases rename to old_cases")
        connection.execute(
            "create table cases (case_id integer primary key, at text, kind text,"
            " lon text, lat real)"
        )
        connection.execute("insert into cases select * from old_cases")
    with pytest.raises(SchemaDriftError, match=r"source drift: column 'lon'.*'real' to 'text'"):
        ingest_source("drift", stage="bronze")


def test_vanished_key_column_fails(drift_source):
    with sqlite3.connect(drift_source) as connection:
        connection.execute("alter table cases rename to old_cases")
        connection.execute("create table cases (at text, kind text, lon real, lat real)")
    with pytest.raises(SchemaDriftError, match=r"key column 'case_id'"):
        ingest_source("drift", stage="bronze")
