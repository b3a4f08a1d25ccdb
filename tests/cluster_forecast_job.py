"""Run one forecast target, as ``boljam forecast`` does, under spark-submit.

Usage: spark-submit --master URL tests/cluster_forecast_job.py TARGET TARGETS_FILE
The profile comes from ``BOLJAM_PROFILE_FILE``. Prints one JSON line: the Spark master,
the run id and the backtest means.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="target name in TARGETS_FILE")
    parser.add_argument("targets_file", type=Path, help="YAML file that defines the target")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    from jobs.forecast import run_forecast
    from jobs.spark_session import get_spark

    args = parse_args(argv)
    spark = get_spark(f"boljam-cluster-forecast-{args.target}")
    try:
        result = run_forecast(args.target, targets_file=args.targets_file)
        output = {
            "master": spark.sparkContext.master,
            "run_id": result["run_id"],
            "metrics": result["metrics"],
        }
        sys.stdout.write(json.dumps(output) + "\n")
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
