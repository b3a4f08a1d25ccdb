"""Shared pytest fixtures: one small Spark session for the whole run, temp lake folders."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import NamedTuple

import pytest

# py4j logs at INFO from a finaliser after pytest has closed its capture streams.
logging.getLogger("py4j").setLevel(logging.WARNING)

os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@pytest.fixture(scope="session")
def spark():
    """A local[2] Spark session in UTC, bound to 127.0.0.1, shared by every Spark test."""
    from jobs.spark_session import get_spark

    session = get_spark("boljam-tests", master="local[2]")
    yield session
    session.stop()


def write_profile(root, real_data=None):
    """Write a profile whose lake, databases and MLflow store all live under ``root``."""
    from pathlib import Path

    import yaml

    from jobs.settings import PROJECT_ROOT

    root = Path(root)
    var = root / "var"
    default_real = PROJECT_ROOT.parent / "shared" / "data" / "real"
    profile = {
        "name": "test",
        "lake_dir": str(var / "lake"),
        "agency_db_dir": str(var / "agencies"),
        "landing_dir": str(var / "landing"),
        "var_dir": str(var),
        "real_data_dir": real_data
        or os.environ.get("BOLJAM_REAL_DATA", str(default_real)),
        "spark": {
            "master": "local[2]",
            "conf": {
                "spark.sql.shuffle.partitions": "4",
                "spark.sql.session.timeZone": "UTC",
                "spark.ui.enabled": "false",
                "spark.driver.bindAddress": "127.0.0.1",
                "spark.driver.host": "127.0.0.1",
            },
        },
        "mlflow": {
            "tracking_uri": f"sqlite:///{var / 'mlflow' / 'mlflow.db'}",
            "artifact_root": str(var / "mlflow" / "artifacts"),
        },
        "dbt": {"target": "duckdb", "duckdb_path": str(var / "marts" / "boljam.duckdb")},
    }
    path = root / "profile.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    return path


def write_kz_profile(root, world):
    """Write a profile as write_profile does that lands the kz catalogue from ``world``.

    ``world`` is a folder written by ``boljam synth``, with its databases in agencies/ and
    its dump files, the landing folder, in dumps/.
    """
    from pathlib import Path

    import yaml

    from jobs.settings import PROJECT_ROOT

    path = write_profile(root)
    profile = yaml.safe_load(path.read_text(encoding="utf-8"))
    profile["agency_db_dir"] = str(Path(world) / "agencies")
    profile["landing_dir"] = str(Path(world) / "dumps")
    profile["sources_file"] = str(PROJECT_ROOT / "conf" / "kz" / "sources.yml")
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    return path


def forecast_job_profile(root):
    """Return a Profile for forecast job tests: lake and MLflow store under ``root``, the
    embedded default's Spark settings."""
    from jobs.settings import MlflowSettings, Profile, load_profile

    return Profile(
        name="test",
        lake_dir=str(root / "lake"),
        agency_db_dir=str(root / "agencies"),
        landing_dir=str(root / "landing"),
        var_dir=str(root / "var"),
        real_data_dir=str(root / "real"),
        spark=load_profile("embedded").spark,
        mlflow=MlflowSettings(
            tracking_uri=f"sqlite:///{root}/mlflow/mlflow.db",
            artifact_root=str(root / "mlflow" / "artifacts"),
        ),
    )


@pytest.fixture
def tmp_profile(tmp_path, monkeypatch):
    """Point the active profile at a fresh lake under tmp_path and set a pseudonym key."""
    from jobs.settings import load_profile

    path = write_profile(tmp_path)
    monkeypatch.setenv("BOLJAM_PROFILE_FILE", str(path))
    monkeypatch.setenv("BOLJAM_PSEUDONYM_KEY", "test-key-" + "0" * 32)
    return load_profile()


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server on 127.0.0.1 started by scripts/postgres.sh, stopped by PID."""
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "postgres.sh"
    subprocess.run(["bash", str(script), "start"], check=True, timeout=180)
    url = subprocess.run(
        ["bash", str(script), "url"], check=True, capture_output=True, text=True
    ).stdout.strip()
    yield url
    subprocess.run(["bash", str(script), "stop"], check=False, timeout=120)


# The shared pipeline run: every 10th row of the real data, one forecast target.
PIPELINE_SAMPLE_EVERY = 10
PIPELINE_TARGETS = ["houston_all_offences"]


class PipelineRun(NamedTuple):
    """Outputs of the shared pipeline run: its root folder (profile.yaml, var/) and summary."""

    root: Path
    summary: dict

    @property
    def profile_file(self) -> Path:
        return self.root / "profile.yaml"

    @property
    def targets(self) -> list[str]:
        """Forecast targets the run forecast and reported."""
        return PIPELINE_TARGETS


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory) -> PipelineRun:
    """Run the four DAGs once with ``airflow dags test`` into a temporary lake and var/.

    The end-to-end, browser and notebook tests all read this run, so the expensive part
    (seeding, Spark forecast, reports) happens once per test session.
    """
    root = tmp_path_factory.mktemp("pipeline")
    profile_file = write_profile(root)
    previous = os.environ.get("BOLJAM_PROFILE_FILE")
    os.environ["BOLJAM_PROFILE_FILE"] = str(profile_file)
    try:
        from jobs.demo import run_pipeline

        summary = run_pipeline(sample_every=PIPELINE_SAMPLE_EVERY, targets=PIPELINE_TARGETS)
    finally:
        if previous is None:
            os.environ.pop("BOLJAM_PROFILE_FILE", None)
        else:
            os.environ["BOLJAM_PROFILE_FILE"] = previous
    return PipelineRun(root, summary)
