"""Tests of ``boljam synth --database-url``: agency schemas in a real PostgreSQL server.

The world is conf/synth.yaml shortened to the four weeks from 2024-02-19 with 4000
incidents, written once as SQLite files and once into PostgreSQL with the same seed.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
import yaml
from conftest import write_kz_profile

from jobs.settings import PROJECT_ROOT
from jobs.sources import load_catalogue
from jobs.synth.cli import generate
from jobs.synth.postgres_out import agency_url, catalogue_environment, check_url

REAL_DATA = PROJECT_ROOT.parent / "shared" / "data" / "real"
KZ_SOURCES = PROJECT_ROOT / "conf" / "kz" / "sources.yml"
SYNTH_CONF = PROJECT_ROOT / "conf" / "synth.yaml"
SEED = 11
INCIDENTS = 4000
TEST_DATABASE = "boljam_synth_test"

pytestmark = pytest.mark.skipif(
    not (REAL_DATA / "kz_places.csv.gz").exists(), reason="gazetteer kz_places.csv.gz missing"
)


def _connect(url: str, autocommit: bool = False):
    import adbc_driver_postgresql.dbapi

    return adbc_driver_postgresql.dbapi.connect(url, autocommit=autocommit)


def _fetch(url: str, sql: str) -> list[tuple]:
    with _connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def small_config(tmp_path_factory) -> Path:
    settings = yaml.safe_load(SYNTH_CONF.read_text(encoding="utf-8"))
    settings["start_date"] = dt.date(2024, 2, 19)
    settings["weeks"] = 4
    settings["road"]["point_spacing_m"] = 250
    path = tmp_path_factory.mktemp("conf") / "synth.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def database_url(postgres_url):
    """A fresh database on the test server, so that no other test's tables share it."""
    server = postgres_url.rsplit("/", 1)[0]
    with _connect(postgres_url, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {TEST_DATABASE}")
        cursor.execute(f"CREATE DATABASE {TEST_DATABASE}")
    yield f"{server}/{TEST_DATABASE}"
    with _connect(postgres_url, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {TEST_DATABASE} WITH (FORCE)")


@pytest.fixture(scope="module")
def sqlite_world(tmp_path_factory, small_config) -> Path:
    out = tmp_path_factory.mktemp("sqlite_world")
    generate(SEED, INCIDENTS, out, jobs=1, settings_path=small_config, real_dir=REAL_DATA)
    return out


@pytest.fixture(scope="module")
def postgres_world(tmp_path_factory, small_config, database_url) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("postgres_world")
    manifest = generate(
        SEED,
        INCIDENTS,
        out,
        jobs=2,
        settings_path=small_config,
        real_dir=REAL_DATA,
        database_url=database_url,
    )
    return out, manifest


def _sqlite_tables(sqlite_world: Path) -> dict[tuple[str, str], list[str]]:
    tables = {}
    for path in sorted((sqlite_world / "agencies").glob("*.sqlite")):
        with sqlite3.connect(path) as connection:
            names = connection.execute("select name from sqlite_master where type = 'table'")
            for (table,) in names.fetchall():
                columns = [row[1] for row in connection.execute(f'pragma table_info("{table}")')]
                tables[(path.stem, table)] = columns
    return tables


def test_postgres_rows_equal_sqlite(sqlite_world, postgres_world, database_url):
    out, manifest = postgres_world
    assert manifest["agency_output"] == "postgresql"
    assert not (out / "agencies").exists()
    tables = _sqlite_tables(sqlite_world)
    assert len(tables) == 21
    for (schema, table), columns in tables.items():
        key = columns[0]
        with sqlite3.connect(sqlite_world / "agencies" / f"{schema}.sqlite") as connection:
            expected = connection.execute(f'select * from "{table}" order by "{key}"').fetchall()
        stored = _fetch(database_url, f'select * from "{schema}"."{table}" order by "{key}"')
        assert len(stored) == len(expected), (schema, table)
        assert stored == expected, (schema, table)


def test_postgres_columns_match_sqlite(sqlite_world, postgres_world, database_url):
    for (schema, table), columns in _sqlite_tables(sqlite_world).items():
        stored = _fetch(
            database_url,
            "select column_name from information_schema.columns "
            f"where table_schema = '{schema}' and table_name = '{table}' "
            "order by ordinal_position",
        )
        assert [name for (name,) in stored] == columns, (schema, table)


def test_postgres_keys_after_load(postgres_world, database_url):
    constraints = set(
        _fetch(
            database_url,
            "select table_schema, table_name, constraint_type "
            "from information_schema.table_constraints "
            "where constraint_type in ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')",
        )
    )
    assert ("crime_registry", "criminal_cases", "PRIMARY KEY") in constraints
    assert ("crime_registry", "criminal_cases", "UNIQUE") in constraints
    assert ("probation", "checkins", "FOREIGN KEY") in constraints
    assert ("precursors", "movements", "FOREIGN KEY") in constraints
    schemas = {name for (name,) in _fetch(database_url, "select nspname from pg_namespace")}
    assert not {name for name in schemas if name.endswith("__partial")}


def test_postgres_rerun_gives_same_rows(tmp_path, small_config, postgres_world, database_url):
    before = _fetch(database_url, "select * from calls_112.calls order by call_id")
    generate(
        SEED,
        INCIDENTS,
        tmp_path,
        jobs=1,
        settings_path=small_config,
        real_dir=REAL_DATA,
        database_url=database_url,
    )
    after = _fetch(database_url, "select * from calls_112.calls order by call_id")
    assert len(before) > 0
    assert after == before


def test_agency_url_sets_search_path():
    url = agency_url("postgresql://user@127.0.0.1:5432/db?sslmode=disable", "calls_112")
    assert url == (
        "postgresql://user@127.0.0.1:5432/db?sslmode=disable&options=-csearch_path%3Dcalls_112"
    )


def test_check_url_rejects_other_schemes():
    with pytest.raises(ValueError, match="unsupported database URL scheme 'mysql'"):
        check_url("mysql://user@127.0.0.1/db")


def test_kz_sources_land_from_postgres(tmp_path, postgres_world, database_url, monkeypatch):
    from deltalake import DeltaTable

    from jobs.ingest.run import ingest_source
    from jobs.settings import load_profile

    out, manifest = postgres_world
    environment = catalogue_environment(database_url, manifest["rows"])
    sources = {
        name: source
        for name, source in load_catalogue(KZ_SOURCES).sources.items()
        if source.kind == "sql"
    }
    assert len(sources) == 11
    assert {source.connection.url_env for source in sources.values()} <= set(environment)

    # No SQLite files in the agency folder: every row must come from PostgreSQL.
    empty = tmp_path / "world"
    (empty / "agencies").mkdir(parents=True)
    (empty / "dumps").symlink_to(out / "dumps")
    path = write_kz_profile(tmp_path / "lake", empty)
    monkeypatch.setenv("BOLJAM_PROFILE_FILE", str(path))
    monkeypatch.setenv("BOLJAM_PSEUDONYM_KEY", "kz-test-key-" + "0" * 32)
    monkeypatch.delenv("BOLJAM_SOURCES", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    profile = load_profile()
    for name, source in sources.items():
        schema = next(
            schema
            for schema, url in zip(manifest["rows"], environment.values(), strict=True)
            if url == environment[source.connection.url_env]
        )
        expected = _fetch(database_url, f'select count(*) from "{schema}"."{source.table}"')[0][0]
        result = ingest_source(name)
        assert expected > 0, name
        assert result["bronze"]["rows"] == expected, name
        silver = DeltaTable(str(profile.table_path("silver", name))).to_pyarrow_table().num_rows
        assert 0 < silver <= expected, name
