"""The ``boljam`` console command.

Each subcommand lives in its own module, which defines ``add_arguments(parser)`` and
``run(args) -> int``. Modules keep heavy imports (pyspark, pandas, lightgbm) inside their
functions so that ``boljam --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Subcommand name -> (module, one-line help). Add a line here to add a subcommand.
COMMANDS: dict[str, tuple[str, str]] = {
    "seed": ("jobs.seed", "load the real data sets into per-agency SQLite databases"),
    "ingest": ("jobs.ingest.run", "land one source into bronze and silver Delta tables"),
    "validate": ("jobs.quality", "run the Great Expectations suite on a silver table"),
    "marts": ("jobs.marts", "run dbt (build, docs) on the marts project"),
    "forecast": ("jobs.forecast", "build features, backtest and forecast one target on Spark"),
    "report": ("jobs.report", "write the HTML and PDF report of one target"),
    "hotspots": ("jobs.hotspots.cli", "write the emerging hot spots of forecast targets"),
    "letters": ("jobs.letters.cli", "write and send the PDF letters to agencies"),
    "summary": ("jobs.summary", "write var/demo/summary.json and print a short summary"),
    "demo": ("jobs.demo", "run the whole pipeline through Airflow DAG runs"),
    "airflow-env": ("jobs.airflow_env", "print the project-local Airflow settings"),
    "text-quality": ("jobs.text.quality", "cross-validate the appeal and media text models"),
    "appeals": ("jobs.text.appeals", "land appeals and media text as silver and gold Delta tables"),
    "synth": ("jobs.synth.cli", "generate a synthetic Kazakhstan with its ground truth"),
    "oracle": ("jobs.oracle", "compare a target's PEI* with the oracle's on a synthetic country"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="boljam",
        description="Boljam: crime-threat forecasting lakehouse (Delta, dbt, Spark, MLflow).",
    )
    parser.add_argument(
        "--log-level", default="INFO", help="logging level (DEBUG, INFO, WARNING); default INFO"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the subcommand of ``argv``; return its exit code, 2 for a configuration error."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # A wrong name or setting is the user's to fix: one line, not a traceback.
    from jobs.settings import ConfigError

    try:
        return int(args.handler(args) or 0)
    except ConfigError as error:
        print(f"boljam {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
