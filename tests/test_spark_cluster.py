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
        str(JOB),
        str(source),
        str(target),
    ]
    # Only the driver gets the project on PYTHONPATH: executors run the data source from
    # the pickled module, as on a cluster without the project installed.
    job_env = {
        **env,
        "PYTHONPATH": str(ROOT),
        "SPARK_HOME": str(spark_home),
        "SPARK_LOCAL_IP": "127.0.0.1",
    }

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
