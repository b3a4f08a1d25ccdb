"""A Spark standalone cluster on 127.0.0.1 runs a job that reads and writes Delta tables."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
CLUSTER_SCRIPT = ROOT / "scripts" / "spark_cluster.sh"
JOB = ROOT / "tests" / "cluster_delta_job.py"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _error_lines(log: str) -> str:
    """Keep the Python traceback and ERROR lines of a spark-submit log, which is mostly INFO."""
    error_lines = [
        line for line in log.splitlines() if " INFO " not in line and " WARN " not in line
    ]
    return "\n".join(error_lines[-80:])


def _spark_submit(url: str, env: dict, job: Path, *args: str) -> tuple[list[str], dict]:
    """Return the spark-submit command and environment that run ``job`` on the cluster."""
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    spark_submit = spark_home / "bin" / "spark-submit"
    command = [
        str(spark_submit),
        "--master",
        url,
        "--conf",
        "spark.driver.host=127.0.0.1",
        "--conf",
        "spark.driver.bindAddress=127.0.0.1",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        "spark.executor.memory=768m",
        "--conf",
        "spark.cores.max=2",
        "--conf",
        "spark.sql.session.timeZone=UTC",
        "--conf",
        "spark.sql.shuffle.partitions=2",
        "--conf",
        f"spark.pyspark.python={sys.executable}",
        str(job),
        *args,
    ]
    # Only the driver gets the project on PYTHONPATH: executors run the data source from
    # the pickled module, as on a cluster without the project installed.
    job_env = {
        **env,
        "PYTHONPATH": str(ROOT),
        "SPARK_HOME": str(spark_home),
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    return command, job_env


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Start a master and two workers, yield the master URL, stop them by PID afterwards."""
    env = {
        **os.environ,
        "BOLJAM_SPARK_CLUSTER_DIR": str(tmp_path_factory.mktemp("spark-cluster")),
        "BOLJAM_SPARK_MASTER_PORT": str(_free_port()),
        "BOLJAM_PYTHON": sys.executable,
    }
    try:
        subprocess.run([str(CLUSTER_SCRIPT), "start"], env=env, check=True, timeout=240)
        url = subprocess.run(
            [str(CLUSTER_SCRIPT), "url"], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()
        yield url, env
    finally:
        subprocess.run([str(CLUSTER_SCRIPT), "stop"], env=env, check=False, timeout=60)
        status = subprocess.run([str(CLUSTER_SCRIPT), "status"], env=env, check=False)
        assert status.returncode == 3, "a Spark daemon is still running after stop"


def test_cluster_job_reads_and_writes_delta(cluster, tmp_path):
    url, env = cluster
    source = tmp_path / "incidents"
    target = tmp_path / "city_counts"
    at = pa.timestamp("us", tz="UTC")
    for cities, days in [(["Almaty", "Astana"], [1, 2]), (["Almaty"], [3]), (["Shymkent"], [4])]:
        batch = pa.table(
            {
                "incident_id": pa.array(days, pa.int64()),
                "city": cities,
                "reported_at": pa.array([dt.datetime(2024, 5, d, tzinfo=dt.UTC) for d in days], at),
            }
        )
        write_deltalake(str(source), batch, mode="append")
    command, job_env = _spark_submit(url, env, JOB, str(source), str(target))
    done = subprocess.run(
        command, env=job_env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )

    assert done.returncode == 0, _error_lines(done.stderr)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["master"] == url
    assert result["executors"] == 2
    assert result["read_partitions"] == 3
    assert result["version"] == 0
    table = DeltaTable(str(target))
    assert table.metadata().partition_columns == ["city"]
    rows = sorted(table.to_pyarrow_table().to_pylist(), key=lambda r: r["city"])
    assert [(r["city"], r["incidents"]) for r in rows] == [
        ("Almaty", 2),
        ("Astana", 1),
        ("Shymkent", 1),
    ]
    assert rows[0]["last_at"] == dt.datetime(2024, 5, 3, tzinfo=dt.UTC)


FORECAST_JOB = ROOT / "tests" / "cluster_forecast_job.py"
HOUSTON_FILE = "houston_crime_2010.csv.gz"
# A small Houston target: every 20th incident, one evaluation week and one tuning week, 20
# boosting rounds and no Prophet model.
SAMPLE_TARGETS = """
defaults:
  period: week
  horizon: 1
  evaluation_weeks: 1
  tuning_weeks: 1
  min_history_weeks: 4
  study_area: cells_with_incidents
  hotspot_fractions: [0.01, 0.05]
  interval_level: 0.8
  aggregate_model: none
  seed: 20260101
  lightgbm:
    num_boost_round: 20
targets:
  houston_sample:
    source_table: houston_crime
    timezone: America/Chicago
    offenses: all
    h3_resolution: 8
"""
# Features and boosters are the same in both modes, so the floats should match exactly. The
# tolerance only allows for last-bit differences in NumPy and SciPy arithmetic.
FLOAT_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def sampled_houston(tmp_path_factory):
    """Ingest every 20th row of the real Houston data into a temporary lake."""
    from conftest import write_profile

    from jobs.ingest.run import ingest_source
    from jobs.seed import seed_houston
    from jobs.settings import load_profile

    root = tmp_path_factory.mktemp("cluster-forecast")
    profile_file = write_profile(root)
    saved = {name: os.environ.get(name) for name in ("BOLJAM_PROFILE_FILE", "BOLJAM_PSEUDONYM_KEY")}
    os.environ["BOLJAM_PROFILE_FILE"] = str(profile_file)
    os.environ["BOLJAM_PSEUDONYM_KEY"] = "test-key-" + "0" * 32
    try:
        profile = load_profile()
        if not (profile.real_data / HOUSTON_FILE).exists():
            pytest.skip(f"real data file {HOUSTON_FILE} not found in {profile.real_data}")
        seed_houston(profile.real_data, profile.agency_dbs, sample_every=20)
        ingest_source("houston_crime")
        targets_file = root / "forecasts.yml"
        targets_file.write_text(SAMPLE_TARGETS, encoding="utf-8")
        yield profile, profile_file, targets_file
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.mark.spark
def test_cluster_forecast_equals_local_mode(cluster, sampled_houston, spark, tmp_path):
    from jobs.forecast import run_forecast

    url, env = cluster
    profile, profile_file, targets_file = sampled_houston
    local = run_forecast("houston_sample", profile=profile, targets_file=targets_file)

    command, job_env = _spark_submit(url, env, FORECAST_JOB, "houston_sample", str(targets_file))
    job_env["BOLJAM_PROFILE_FILE"] = str(profile_file)
    done = subprocess.run(
        command, env=job_env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )

    assert done.returncode == 0, _error_lines(done.stderr)
    remote = json.loads(done.stdout.strip().splitlines()[-1])
    assert remote["master"] == url
    assert remote["run_id"] != local["run_id"]
    forecasts = DeltaTable(str(profile.table_path("gold", "forecasts"))).to_pandas()
    by_run = {
        run_id: rows.sort_values("h3_cell", ignore_index=True)
        for run_id, rows in forecasts.groupby("run_id")
    }
    local_rows = by_run[local["run_id"]]
    remote_rows = by_run[remote["run_id"]]
    assert len(local_rows) > 100
    assert list(remote_rows["h3_cell"]) == list(local_rows["h3_cell"])
    assert list(remote_rows["risk_rank"]) == list(local_rows["risk_rank"])
    assert list(remote_rows["period_start"]) == list(local_rows["period_start"])
    for column in ("predicted", "lower", "upper"):
        assert remote_rows[column].to_numpy() == pytest.approx(
            local_rows[column].to_numpy(), rel=FLOAT_TOLERANCE, abs=FLOAT_TOLERANCE
        ), column
    assert sorted(remote["metrics"]) == sorted(local["metrics"])
    for name, value in local["metrics"].items():
        assert remote["metrics"][name] == pytest.approx(
            value, rel=FLOAT_TOLERANCE, abs=FLOAT_TOLERANCE, nan_ok=True
        ), name
