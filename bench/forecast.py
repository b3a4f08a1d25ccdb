"""Benchmark: the Spark forecast job on a generated Houston silver table.

It writes a houston_crime silver table of ``--rows`` generated incidents at ``--points``
fixed places over ``--weeks`` weeks. Places that share an H3 resolution 8 cell make one
study cell, so there are at most ``--points`` cells. Then it runs
``run_forecast("houston_all_offences")`` against the table with a temporary lake and
MLflow store, on the profile's Spark master. The table is written in files of
``--rows-per-file`` rows, as silver is written chunk by chunk, so that Spark reads it in
several partitions.

With ``--feature-masters local[1],local[2]`` it also times the feature job alone (read
silver, build the panel and the features, compute every row through Spark's ``noop``
sink) once per master, each in its own process, on the same table.

    .venv/bin/python bench/forecast.py --rows 200000 --points 3000 --weeks 52 \
        --feature-masters 'local[1],local[2]'

The last line printed is one JSON object with the sizes and the seconds of each phase.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bench_profile(work: Path):
    """Return the embedded profile with the lake, var folder and MLflow store under ``work``."""
    from jobs.settings import MlflowSettings, load_profile

    return load_profile("embedded").model_copy(
        update={
            "lake_dir": str(work / "lake"),
            "var_dir": str(work / "var"),
            "mlflow": MlflowSettings(
                tracking_uri=f"sqlite:///{work}/mlflow/mlflow.db",
                artifact_root=str(work / "mlflow" / "artifacts"),
            ),
        }
    )


def feature_job(work: Path, master: str) -> dict:
    """Build the features of houston_all_offences on ``master`` and return the timings."""
    from jobs.spark_delta import read_delta
    from jobs.spark_session import get_spark
    from models.backtest import ship_modules
    from models.features import build_features
    from models.panel import build_panel, select_target_incidents, source_period_range
    from models.targets import get_target

    profile = bench_profile(work)
    target = get_target("houston_all_offences", profile.forecasts_path)
    started = time.perf_counter()
    spark = get_spark("boljam-bench-features", profile, master=master)
    ship_modules()
    session_seconds = time.perf_counter() - started
    started = time.perf_counter()
    silver = read_delta(spark, profile.table_path("silver", "houston_crime"))
    periods = source_period_range(silver, target)
    panel = build_panel(select_target_incidents(silver, target), periods, target.horizon)
    features = build_features(
        panel, target.features, target.country, target.subdivision, target.period, target.unit
    )
    features.write.format("noop").mode("overwrite").save()
    seconds = time.perf_counter() - started
    spark.stop()
    return {"master": master, "session_seconds": session_seconds, "feature_seconds": seconds}


def timed_feature_jobs(work: Path, masters: list[str]) -> dict[str, float]:
    """Run the feature job once per master, each in a fresh process.

    A JVM keeps the master of its first Spark session, so each master needs its own process.
    """
    figures = {}
    for master in masters:
        completed = subprocess.run(
            [sys.executable, __file__, "--phase", "features", "--work", str(work),
             "--master", master],
            check=True, capture_output=True, text=True,
        )
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        figures[f"features_{master}_seconds"] = round(result["feature_seconds"], 1)
    return figures


def write_silver(path: Path, table, rows_per_file: int) -> None:
    """Write ``table`` as a Delta table in files of at most ``rows_per_file`` rows."""
    from deltalake import write_deltalake

    for offset in range(0, max(table.num_rows, 1), rows_per_file):
        write_deltalake(str(path), table.slice(offset, rows_per_file), mode="append")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=200_000, help="generated incidents; default 200000"
    )
    parser.add_argument("--points", type=int, default=3_000, help="distinct places; default 3000")
    parser.add_argument("--weeks", type=int, default=52, help="weeks the times span; default 52")
    parser.add_argument("--seed", type=int, default=7, help="random seed; default 7")
    parser.add_argument(
        "--rows-per-file", type=int, default=500_000,
        help="rows per silver data file; default 500000",
    )
    parser.add_argument(
        "--feature-masters", default="",
        help="comma-separated Spark masters to time the feature job on, e.g. local[1],local[2]",
    )
    parser.add_argument("--phase", choices=["features"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--master", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.phase == "features":
        print(json.dumps(feature_job(args.work, args.master)))
        return

    from bench.marts import generate_incidents
    from jobs.forecast import run_forecast

    with tempfile.TemporaryDirectory(prefix="boljam-bench-forecast-") as folder:
        work = Path(folder)
        profile = bench_profile(work)
        started = time.perf_counter()
        table = generate_incidents(
            args.rows, args.points, args.weeks, args.seed, "houston_crime", "houston"
        )
        write_silver(profile.table_path("silver", "houston_crime"), table, args.rows_per_file)
        del table
        generated = time.perf_counter() - started

        masters = [m for m in args.feature_masters.split(",") if m]
        feature_figures = timed_feature_jobs(work, masters)

        started = time.perf_counter()
        result = run_forecast("houston_all_offences", profile=profile)
        job_seconds = time.perf_counter() - started

    figures = {
        "rows": args.rows,
        "points": args.points,
        "weeks": args.weeks,
        "cells": result["n_cells"],
        "complete_weeks": result["n_periods"],
        "generate_seconds": round(generated, 1),
        "job_seconds": round(job_seconds, 1),
        **{
            f"{phase}_seconds": round(value, 1)
            for phase, value in result["timings_seconds"].items()
        },
        "model_pei_star_1pct": round(result["metrics"]["model_pei_star_1pct"], 4),
        **feature_figures,
    }
    if len(masters) == 2:
        first, second = (feature_figures[f"features_{m}_seconds"] for m in masters)
        figures["feature_speedup"] = round(first / second, 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
