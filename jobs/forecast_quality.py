"""Rerun the forecast evaluations on the real data and write ``var/forecast-quality.json``.

``python -m jobs.forecast_quality`` (``make forecast-quality``) runs ``boljam forecast`` for
the Houston, Portland and Edinburgh targets one after the other in one process. Each run
is a normal forecast run: it is logged to MLflow and appends to the gold tables. Source
tables that are missing are seeded from the real data and ingested first.

The output maps target -> method -> metric -> value, with the backtest means of the
model and of every baseline. The run ids, table versions and tuning choices of each
target go to ``forecast-quality-runs.json`` beside it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from jobs.settings import load_profile

logger = logging.getLogger(__name__)

DEFAULT_TARGETS = (
    "houston_all_offences",
    "houston_burglary",
    "houston_robbery",
    "houston_auto_theft",
    "portland_street_crimes",
    "edinburgh_road_accidents",
)


def known_methods() -> list[str]:
    """Return every method name a forecast run logs metrics for, longest first."""
    from models.backtest import BASELINES, MODEL_METHOD
    from models.prophet_totals import PROPHET_METHOD
    from models.spatial_baselines import KDE_METHOD, PROSPECTIVE_METHOD

    methods = [MODEL_METHOD, *BASELINES, KDE_METHOD, PROSPECTIVE_METHOD, PROPHET_METHOD]
    return sorted(methods, key=len, reverse=True)


def nest_metrics(summary: dict[str, float], methods: list[str]) -> dict[str, dict[str, float]]:
    """Split ``{method}_{metric}`` keys into method -> metric -> value.

    ``methods`` must be ordered longest first, so that ``baseline_ewm_0_8`` is not read as
    a metric of a shorter method name. Keys of no known method are left out.
    """
    nested: dict[str, dict[str, float]] = {}
    for key, value in sorted(summary.items()):
        for method in methods:
            if key.startswith(method + "_"):
                nested.setdefault(method, {})[key[len(method) + 1 :]] = value
                break
    return nested


# Columns of the Markdown table: header -> metric name.
TABLE_COLUMNS = {
    "PEI* 0.5%": "pei_star_0p5pct",
    "PEI* 1%": "pei_star_1pct",
    "PEI* 5%": "pei_star_5pct",
    "PAI 1%": "pai_1pct",
    "hit rate 1%": "hit_rate_1pct",
    "MAE": "mae",
    "80% coverage": "interval_coverage_80",
}


def format_table(figures: dict[str, dict[str, dict[str, float]]]) -> str:
    """Return one Markdown table per target: a row per method that has PEI* figures."""
    lines = []
    for target, methods in figures.items():
        lines += [f"`{target}`", "", "| method | " + " | ".join(TABLE_COLUMNS) + " |"]
        lines.append("|---" * (len(TABLE_COLUMNS) + 1) + "|")
        for method, metrics in sorted(methods.items()):
            if "pei_star_1pct" not in metrics:
                continue
            cells = [
                f"{metrics[name]:.3f}" if name in metrics else "" for name in TABLE_COLUMNS.values()
            ]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def ensure_sources(targets: list[str]) -> None:
    """Seed and ingest the source table of every target whose silver table is missing."""
    from jobs.airflow_env import pseudonym_key
    from jobs.delta_io import table_version
    from jobs.ingest.run import ingest_source
    from jobs.privacy import KEY_ENV
    from jobs.seed import seed_all
    from models.targets import get_target

    profile = load_profile()
    sources = sorted({get_target(name, profile.forecasts_path).source_table for name in targets})
    missing = [
        source for source in sources if table_version(profile.table_path("silver", source)) is None
    ]
    if not missing:
        return
    logger.info("Silver tables %s are missing: seeding and ingesting them", missing)
    os.environ.setdefault(KEY_ENV, pseudonym_key(profile))
    seed_all(profile)
    for source in missing:
        ingest_source(source)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--targets",
        nargs="+",
        default=list(DEFAULT_TARGETS),
        help=f"targets to evaluate; default: {' '.join(DEFAULT_TARGETS)}",
    )
    parser.add_argument(
        "--table",
        action="store_true",
        help="print the figures file as Markdown tables and exit, without running anything",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="figures file; default <profile var>/forecast-quality.json",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    from jobs.forecast import run_forecast

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parse_args(argv)
    profile = load_profile()
    output = args.output or profile.var / "forecast-quality.json"
    runs_output = output.with_name(output.stem + "-runs.json")
    if args.table:
        print(format_table(json.loads(output.read_text(encoding="utf-8"))))
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    ensure_sources(args.targets)
    methods = known_methods()
    figures: dict[str, dict] = {}
    runs: dict[str, dict] = {}
    for name in args.targets:
        started = time.monotonic()
        result = run_forecast(name, profile=profile)
        figures[name] = nest_metrics(result["metrics"], methods)
        runs[name] = {
            "run_id": result["run_id"],
            "champion": result["champion"],
            "n_cells": result["n_cells"],
            "period": result["period"],
            "n_periods": result["n_periods"],
            "forecast_period_start": result["forecast_period_start"],
            "input_versions": result["input_versions"],
            "backtest_params": result.get("backtest_params", {}),
            "wall_seconds": round(time.monotonic() - started, 1),
        }
        # Written after every target, so an interrupted run keeps the finished ones.
        output.write_text(json.dumps(figures, indent=2, sort_keys=True), encoding="utf-8")
        runs_output.write_text(json.dumps(runs, indent=2, sort_keys=True), encoding="utf-8")
        logger.info(
            "Target %s done in %.0f s; figures in %s", name, runs[name]["wall_seconds"], output
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
