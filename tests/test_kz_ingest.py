"""Ingestion of every kz source from a small synthetic Kazakhstan, against its databases.

The world covers the four weeks around 2024-03-01, when Asia/Almaty moved from UTC+6 to
UTC+5, so the ambiguous hour 2024-02-29 23:00-23:59 is in the data.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pyarrow.compute as pc
import pytest
import yaml
from conftest import write_kz_profile
from deltalake import DeltaTable

from jobs.settings import PROJECT_ROOT
from jobs.sources import load_catalogue

REAL_DATA = PROJECT_ROOT.parent / "shared" / "data" / "real"
KZ_SOURCES = PROJECT_ROOT / "conf" / "kz" / "sources.yml"
SYNTH_CONF = PROJECT_ROOT / "conf" / "synth.yaml"

pytestmark = pytest.mark.skipif(
    not (REAL_DATA / "kz_places.csv.gz").exists(), reason="gazetteer kz_places.csv.gz missing"
)


@pytest.fixture(scope="module")
def kz_world(tmp_path_factory) -> Path:
    from jobs.synth.cli import generate

    settings = yaml.safe_load(SYNTH_CONF.read_text(encoding="utf-8"))
    settings["start_date"] = dt.date(2024, 2, 19)
    settings["weeks"] = 4
    settings["road"]["point_spacing_m"] = 250
    config = tmp_path_factory.mktemp("conf") / "synth.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    out = tmp_path_factory.mktemp("kz")
    generate(5, 4000, out, jobs=1, settings_path=config, real_dir=REAL_DATA)
    return out


@pytest.fixture(scope="module")
def kz_lake(kz_world, tmp_path_factory):
    """Ingest every kz source twice into a fresh lake; return (profile, first, second)."""
    from jobs.ingest.run import ingest_source
    from jobs.settings import load_profile

    root = tmp_path_factory.mktemp("kz_lake")
    path = write_kz_profile(root, kz_world)
    patch = pytest.MonkeyPatch()
    patch.setenv("BOLJAM_PROFILE_FILE", str(path))
    patch.setenv("BOLJAM_PSEUDONYM_KEY", "kz-test-key-" + "0" * 32)
    patch.delenv("BOLJAM_SOURCES", raising=False)
    try:
        names = list(load_catalogue().sources)
        first = {name: ingest_source(name) for name in names}
        second = {name: ingest_source(name) for name in names}
        yield load_profile(), first, second
    finally:
        patch.undo()


def _source_rows(kz_world: Path, source) -> int:
    database = source.connection.default_url.rsplit("/", 1)[1]
    with sqlite3.connect(kz_world / "agencies" / database) as connection:
        return connection.execute(f'select count(*) from "{source.table}"').fetchone()[0]


def _silver_rows(profile, name: str) -> int:
    return DeltaTable(str(profile.table_path("silver", name))).to_pyarrow_table().num_rows


def _reject_rows(profile, name: str) -> int:
    path = profile.table_path("silver", "rejects")
    table = DeltaTable(str(path)).to_pyarrow_table(columns=["source"])
    return int(pc.sum(pc.equal(table["source"], name)).as_py() or 0)


def _sql_sources() -> dict:
    """The catalogue's agency databases; the region outline file is checked on its own."""
    return {
        name: source
        for name, source in load_catalogue(KZ_SOURCES).sources.items()
        if source.kind == "sql"
    }


def test_catalogue_covers_every_table():
    catalogue = load_catalogue(KZ_SOURCES)
    assert {name for name, s in catalogue.sources.items() if s.kind == "files"} == {"kz_regions"}
    tables = {(s.connection.default_url.rsplit("/", 1)[1], s.table)
              for s in _sql_sources().values()}
    assert tables == {
        ("crime_registry.sqlite", "criminal_cases"),
        ("calls_112.sqlite", "calls"),
        ("road_police.sqlite", "accidents"),
        ("admin_offences.sqlite", "offences"),
        ("admin_offences.sqlite", "articles"),
        ("probation.sqlite", "probationers"),
        ("probation.sqlite", "checkins"),
        ("bank_fraud.sqlite", "fraud_reports"),
        ("operator_fraud.sqlite", "fraud_signals"),
        ("precursors.sqlite", "licences"),
        ("precursors.sqlite", "movements"),
    }


def test_rows_read_equal_silver_plus_rejects(kz_world, kz_lake):
    profile, first, _ = kz_lake
    for name, source in _sql_sources().items():
        expected = _source_rows(kz_world, source)
        assert expected > 0, name
        assert first[name]["bronze"]["rows"] == expected, name
        batch = first[name]["silver"][0]
        assert batch["rows_read"] == expected, name
        assert _silver_rows(profile, name) + _reject_rows(profile, name) == expected, name


def test_second_run_lands_only_full_reloads(kz_world, kz_lake):
    profile, _, second = kz_lake
    for name, source in _sql_sources().items():
        expected = _source_rows(kz_world, source)
        if source.watermark:
            assert second[name]["bronze"]["rows"] == 0, name
            assert second[name]["silver"] == [], name
        else:
            # A table without a watermark is read again in full; silver keeps one row a key.
            assert second[name]["bronze"]["rows"] == expected, name
            assert second[name]["silver"][0]["duplicates"] == expected, name
        assert _silver_rows(profile, name) + _reject_rows(profile, name) == expected, name


def test_ambiguous_hour_takes_earlier_instant(kz_world, kz_lake):
    profile = kz_lake[0]
    with sqlite3.connect(kz_world / "agencies" / "crime_registry.sqlite") as connection:
        stored = dict(connection.execute("select case_id, occurred_at from criminal_cases"))
    silver = DeltaTable(str(profile.table_path("silver", "kz_crime_cases"))).to_pandas()
    silver["stored"] = silver["incident_id"].astype(int).map(stored)
    offset = silver["occurred_at_local"] - silver["occurred_at_utc"].dt.tz_localize(None)
    ambiguous = silver["stored"].str.startswith("2024-02-29 23:")
    assert ambiguous.sum() > 0
    # 23:xx on 2024-02-29 is read at UTC+6, the first of its two instants.
    assert (offset[ambiguous] == dt.timedelta(hours=6)).all()
    assert (silver.loc[ambiguous, "quality_flags"] == "local_time_ambiguous").all()
    before = silver["stored"] < "2024-02-29 23:00:00"
    after = silver["stored"] >= "2024-03-01 00:00:00"
    assert (offset[before] == dt.timedelta(hours=6)).all()
    assert (offset[after] == dt.timedelta(hours=5)).all()
    assert (silver["occurred_at_local"].dt.strftime("%Y-%m-%d %H:%M:%S") == silver["stored"]).all()


def test_no_clear_personal_data(kz_world, kz_lake):
    profile = kz_lake[0]
    for name, source in _sql_sources().items():
        if not source.personal_data:
            continue
        silver = DeltaTable(str(profile.table_path("silver", name))).to_pandas()
        database = source.connection.default_url.rsplit("/", 1)[1]
        with sqlite3.connect(kz_world / "agencies" / database) as connection:
            for column, treatment in source.personal_data.items():
                clear = {
                    row[0]
                    for row in connection.execute(f'select "{column}" from "{source.table}"')
                    if row[0] is not None
                }
                if treatment == "drop":
                    assert column not in silver.columns, (name, column)
                    continue
                values = set(silver[column].dropna())
                assert values, (name, column)
                assert not values & clear, (name, column)
                assert all(value.startswith("ps_") for value in values), (name, column)


def test_victim_iin_joins_bank_and_registry(kz_world, kz_lake):
    profile = kz_lake[0]
    agencies = kz_world / "agencies"
    with sqlite3.connect(agencies / "crime_registry.sqlite") as connection:
        connection.execute(f"attach database '{agencies / 'bank_fraud.sqlite'}' as bank")
        shared = connection.execute(
            "select count(distinct c.victim_iin) from criminal_cases c "
            "join bank.fraud_reports b on b.victim_iin = c.victim_iin"
        ).fetchone()[0]
    cases = DeltaTable(str(profile.table_path("silver", "kz_crime_cases"))).to_pandas()
    bank = DeltaTable(str(profile.table_path("silver", "kz_bank_fraud"))).to_pandas()
    assert shared > 0
    assert len(set(cases["victim_iin"].dropna()) & set(bank["victim_iin"])) == shared
