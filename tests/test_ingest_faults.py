"""Faults during ingestion: reruns, kill -9 mid-write, concurrent writers, chunked batches."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
from deltalake import DeltaTable, write_deltalake

from jobs.ingest.run import ingest_source
from jobs.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

SOURCE = {
    "kind": "sql",
    "description": "Generated registry for fault tests.",
    "connection": {"url_env": "BOLJAM_FAULT_URL"},
    "table": "events",
    "primary_key": "event_id",
    "watermark": "event_id",
    "city": "astana",
    "timezone": "Asia/Almaty",
    "timestamp": {"columns": ["at"], "format": "%Y-%m-%d %H:%M:%S", "zone": "utc",
                  "precision": "minute"},
    "coordinates": {"x": "lon", "y": "lat"},
    "area": {"lon_min": 71.2, "lat_min": 51.0, "lon_max": 71.8, "lat_max": 51.3},
    "category": {"column": "kind", "mapping": {"theft": "property", "fight": "violent"}},
}


def make_events(db, first_id, count, seed):
    rng = np.random.default_rng(seed)
    ids = np.arange(first_id, first_id + count)
    seconds = rng.integers(0, 365 * 86400, count)
    at = (np.datetime64("2025-01-01T00:00:00") + seconds.astype("timedelta64[s]")).astype(str)
    kinds = np.where(rng.random(count) < 0.5, "theft", "fight")
    lon = rng.uniform(71.3, 71.7, count).round(6)
    lat = rng.uniform(51.05, 51.25, count).round(6)
    rows = zip(ids.tolist(), [t.replace("T", " ") for t in at], kinds.tolist(), lon.tolist(),
               lat.tolist(), strict=True)
    with sqlite3.connect(db) as connection:
        connection.execute(
            "create table if not exists events (event_id integer primary key, at text,"
            " kind text, lon real, lat real)"
        )
        connection.executemany("insert into events values (?, ?, ?, ?, ?)", rows)


@pytest.fixture
def fault_env(tmp_profile, tmp_path, monkeypatch):
    catalogue = tmp_path / "sources.yml"
    catalogue.write_text(yaml.safe_dump({"sources": {"events": SOURCE}}), encoding="utf-8")
    db = tmp_path / "events.sqlite"
    monkeypatch.setenv("BOLJAM_SOURCES", str(catalogue))
    monkeypatch.setenv("BOLJAM_FAULT_URL", f"sqlite:///{db}")
    return tmp_profile, db


def table_keys(profile, layer, column):
    path = profile.table_path(layer, "events")
    return DeltaTable(str(path)).to_pyarrow_table(columns=[column])[column].to_pylist()


def ingest_process(extra_env=None):
    env = dict(os.environ, **(extra_env or {}))
    return subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "ingest", "--source", "events"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for(condition, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_three_reruns_change_nothing(fault_env):
    profile, db = fault_env
    make_events(db, 1, 500, seed=1)
    ingest_source("events")
    silver_path = str(profile.table_path("silver", "events"))
    version = DeltaTable(silver_path).version()
    for _ in range(3):
        result = ingest_source("events")
        assert result["bronze"]["rows"] == 0
        assert result["silver"] == []
    assert DeltaTable(silver_path).version() == version
    keys = table_keys(profile, "silver", "incident_id")
    assert len(keys) == 500
    assert len(set(keys)) == 500
    assert len(table_keys(profile, "bronze", "event_id")) == 500


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["bronze", "silver"])
def test_kill_mid_write_then_rerun_loses_nothing(fault_env, stage):
    profile, db = fault_env
    make_events(db, 1, 120_000, seed=2)
    bronze = profile.table_path("bronze", "events")
    silver = profile.table_path("silver", "events")

    def bronze_writing():
        return bronze.exists() and any(bronze.glob("*.parquet"))

    def silver_writing():
        return (silver / "_delta_log").exists() and any(silver.glob("*.parquet"))

    process = ingest_process({"BOLJAM_SILVER_CHUNK_ROWS": "20000"})
    try:
        assert wait_for(bronze_writing if stage == "bronze" else silver_writing)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL

    ingest_source("events")

    bronze_keys = table_keys(profile, "bronze", "event_id")
    silver_keys = table_keys(profile, "silver", "incident_id")
    assert len(bronze_keys) == 120_000
    assert len(set(bronze_keys)) == 120_000
    assert len(silver_keys) == 120_000
    assert len(set(silver_keys)) == 120_000


@pytest.mark.slow
def test_concurrent_ingests_of_one_source(fault_env):
    profile, db = fault_env
    make_events(db, 1, 60_000, seed=3)
    first, second = ingest_process(), ingest_process()
    outputs = [process.communicate(timeout=300) for process in (first, second)]
    codes = [first.returncode, second.returncode]
    assert 0 in codes
    for code, (_, stderr) in zip(codes, outputs, strict=True):
        if code != 0:
            assert "is being ingested by process" in stderr
    ingest_source("events")
    silver_keys = table_keys(profile, "silver", "incident_id")
    assert len(silver_keys) == 60_000
    assert len(set(silver_keys)) == 60_000
    assert len(table_keys(profile, "bronze", "event_id")) == 60_000


APPENDER = """
import sys
import pyarrow as pa
from deltalake import write_deltalake
path, writer = sys.argv[1], int(sys.argv[2])
for step in range(10):
    table = pa.table({"writer": [writer] * 100, "step": [step] * 100})
    write_deltalake(path, table, mode="append")
"""


def test_two_writers_append_to_one_table(tmp_path):
    path = tmp_path / "shared_table"
    write_deltalake(str(path), __import__("pyarrow").table({"writer": [0], "step": [0]}))
    processes = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(path), str(w)]) for w in (1, 2)
    ]
    codes = [process.wait(timeout=300) for process in processes]
    assert codes == [0, 0]
    table = DeltaTable(str(path)).to_pyarrow_table()
    assert table.num_rows == 1 + 2 * 10 * 100
    assert table["writer"].to_pylist().count(1) == 1000
    assert table["writer"].to_pylist().count(2) == 1000


def test_chunked_batch_reconciles(fault_env, monkeypatch):
    profile, db = fault_env
    make_events(db, 1, 2_500, seed=4)
    with sqlite3.connect(db) as connection:
        connection.execute("update events set lat = 0, lon = 0 where event_id % 100 = 0")
    monkeypatch.setattr("jobs.ingest.silver.CHUNK_ROWS", 1_000)
    result = ingest_source("events")
    counts = result["silver"][0]
    assert counts["rows_read"] == 2_500
    assert counts["rejected"] == 25
    assert counts["inserted"] == 2_475
    parts = counts["inserted"] + counts["updated"] + counts["duplicates"] + counts["rejected"]
    assert parts == 2_500
