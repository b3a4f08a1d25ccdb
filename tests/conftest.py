"""Shared pytest fixtures: one small Spark session for the whole run, temp lake folders."""

from __future__ import annotations

import os

import pytest

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
