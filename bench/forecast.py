"""Benchmark: the Spark forecast job on a generated Houston silver table.

It writes a houston_crime silver table of ``--rows`` generated incidents at ``--points``
fixed places over ``--weeks`` weeks. Places that share an H3 resolution 8 cell make one
study cell, so there are at most ``--points`` cells. Then it runs
``run_forecast("houston_all_offences")`` against the table with a temporary lake and
MLflow store, on the profile's Spark master.

    .venv/bin/python bench/forecast.py --rows 200000 --points 3000 --weeks 52

The last line printed is one JSON object with the sizes and the seconds of each phase.
"""

from __future__ import annotations

import argparse
import json
import logging
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=200_000, help="generated incidents; default 200000"
    )
    parser.add_argument("--points", type=int, default=3_000, help="distinct places; default 3000")
    parser.add_argument("--weeks", type=int, default=52, help="weeks the times span; default 52")
    parser.add_argument("--seed", type=int, default=7, help="random seed; default 7")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    from deltalake import write_deltalake

    from bench.marts import generate_incidents
    from jobs.forecast import run_forecast

    with tempfile.TemporaryDirectory(prefix="boljam-bench-forecast-") as folder:
        work = Path(folder)
        profile = bench_profile(work)
        started = time.perf_counter()
        table = generate_incidents(
            args.rows, args.points, args.weeks, args.seed, "houston_crime", "houston"
        )
        write_deltalake(str(profile.table_path("silver", "houston_crime")), table)
        generated = time.perf_counter() - started

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
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
