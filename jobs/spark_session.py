"""Spark sessions built from the active profile."""

from __future__ import annotations

import logging
import os
import sys

from jobs.settings import Profile, load_profile

logger = logging.getLogger(__name__)


def get_spark(app_name: str = "boljam", profile: Profile | None = None, master: str | None = None):
    """Return a Spark session configured from the profile's ``spark`` section.

    ``master`` overrides the profile's master (tests pass ``local[1]`` or a cluster URL).
    Under ``spark-submit`` the master set on the command line wins, as Spark documents.
    """
    from pyspark.sql import SparkSession

    profile = profile or load_profile()
    # Executors must run the same interpreter as the driver: the venv's.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if "SPARK_SUBMIT_DEPLOY_MODE" not in os.environ and not _launched_by_spark_submit():
        builder = builder.master(master or profile.spark.master)
    for key, value in profile.spark.conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    logger.info("Spark session %s on %s", app_name, spark.sparkContext.master)
    return spark


def _launched_by_spark_submit() -> bool:
    """Return whether this driver was started by spark-submit (the gateway is already set)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ
