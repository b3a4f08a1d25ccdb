"""``boljam oracle``: the oracle's PEI* of a target beside the model's, on a synthetic country.

The oracle ranks the study cells of each evaluation week by the true intensity that
``boljam synth`` saved in ``truth/``. The command reads the target's silver table for the
observed counts and the study area, and the gold ``backtests`` table for the model's PEI*
over the same weeks. It prints both and logs the oracle's figures as metrics of the
model's MLflow run.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from jobs.settings import ConfigError, Profile, load_profile

logger = logging.getLogger(__name__)

# Default truth file, relative to the synthetic country's folder: street-crime intensity.
DEFAULT_TRUTH = "truth/intensity_street_crime.parquet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", required=True, help="forecast target, e.g. kz_street_crime")
    parser.add_argument(
        "--truth",
        type=Path,
        default=None,
        help="Parquet file of true intensities (h3_cell, week_start, expected_count); default: "
        f"{DEFAULT_TRUTH} under the profile's synth out_dir",
    )
    parser.add_argument(
        "--run-id",
        default=None,
        help="MLflow run whose backtest to compare with; default: the target's latest run",
    )
    parser.add_argument(
        "--no-log", action="store_true", help="print only; do not log the metrics to MLflow"
    )


def run(args: argparse.Namespace) -> int:
    result = compare_with_oracle(
        args.target, truth_path=args.truth, run_id=args.run_id, log=not args.no_log
    )
    print(json.dumps(result, indent=2, sort_keys=True, default=str))
    return 0


def observed_counts(profile: Profile, target):
    """Return (all silver dates, target incidents with ``h3_cell`` and ``week_start``)."""
    import h3
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    from jobs.schemas import H3_RESOLUTIONS
    from models.oracle import week_start

    resolution = target.h3_resolution
    stored = resolution if resolution in H3_RESOLUTIONS else min(H3_RESOLUTIONS)
    path = profile.table_path(target.source_layer, target.source_table)
    columns = ["offense", "local_date", f"h3_r{stored}"]
    table = DeltaTable(str(path)).to_pyarrow_table(columns=columns)
    # The complete weeks come from every offence, as in the forecast job's panel.
    dates = table["local_date"].to_pandas()
    if target.offenses != "all":
        offenses = pa.array(target.offenses, pa.string())
        table = table.filter(pc.is_in(table["offense"], value_set=offenses))
    frame = table.to_pandas().rename(columns={f"h3_r{stored}": "h3_cell"})
    if stored != resolution:
        frame["h3_cell"] = [h3.cell_to_parent(cell, resolution) for cell in frame["h3_cell"]]
    frame["week_start"] = week_start(frame["local_date"])
    return dates, frame


def latest_run_id(profile: Profile, target_name: str) -> str:
    """Return the id of the target's most recent MLflow run."""
    from models.tracking import connect, experiment_name

    client = connect(profile)
    experiment = client.get_experiment_by_name(experiment_name(target_name))
    runs = [] if experiment is None else client.search_runs(
        [experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=1
    )
    if not runs:
        raise ConfigError(f"target {target_name} has no MLflow run; run boljam forecast first")
    return runs[0].info.run_id


def model_scores(profile: Profile, target_name: str, run_id: str):
    """Return the evaluation folds of ``run_id`` from gold backtests, for the model method."""
    from deltalake import DeltaTable

    from models.backtest import MODEL_METHOD

    backtests = DeltaTable(str(profile.table_path("gold", "backtests"))).to_pandas()
    mine = backtests[
        (backtests["target"] == target_name)
        & (backtests["run_id"] == run_id)
        & (backtests["method"] == MODEL_METHOD)
        & (backtests["fold"] >= 1)
    ]
    if mine.empty:
        raise ConfigError(f"gold backtests has no model rows of run {run_id} of {target_name}")
    return mine.pivot(index="period_start", columns="metric", values="value")


def compare_with_oracle(
    target_name: str,
    profile: Profile | None = None,
    truth_path: Path | None = None,
    run_id: str | None = None,
    log: bool = True,
) -> dict:
    """Return the oracle's and the model's mean PEI* over the target's evaluation weeks."""
    import pandas as pd

    from models.metrics import fraction_label
    from models.oracle import mean_over_weeks, oracle_scores
    from models.panel import complete_week_range
    from models.targets import get_target

    profile = profile or load_profile()
    target = get_target(target_name, profile.forecasts_path)
    if truth_path is None:
        if profile.synth is None:
            raise ConfigError(f"profile {profile.name} has no synth section: pass --truth")
        truth_path = profile.path(profile.synth.out_dir) / DEFAULT_TRUTH
    dates, incidents = observed_counts(profile, target)
    weeks = complete_week_range(dates.min(), dates.max())
    first = weeks.n_weeks - target.evaluation_periods
    evaluation = [weeks.week_start(index) for index in range(first, weeks.n_weeks)]
    observed = incidents.groupby(["h3_cell", "week_start"]).size().rename("count").reset_index()
    truth = pd.read_parquet(truth_path, columns=["h3_cell", "week_start", "expected_count"])
    oracle = oracle_scores(
        truth, observed, incidents["h3_cell"].unique(), evaluation, target.hotspot_fractions
    )

    run_id = run_id or latest_run_id(profile, target_name)
    model = model_scores(profile, target_name, run_id)
    model_weeks = sorted(pd.to_datetime(model.index).date)
    if model_weeks != evaluation:
        raise ConfigError(
            f"run {run_id} evaluated weeks {model_weeks[0]}..{model_weeks[-1]} but the silver "
            f"table's evaluation weeks are {evaluation[0]}..{evaluation[-1]}; rerun the forecast"
        )
    result = {
        "target": target_name,
        "run_id": run_id,
        "truth": str(truth_path),
        "evaluation_weeks": [str(week) for week in evaluation],
        "study_cells": int(incidents["h3_cell"].nunique()),
        "metrics": {},
    }
    for fraction in target.hotspot_fractions:
        metric = f"pei_star_{fraction_label(fraction)}"
        oracle_value = mean_over_weeks(oracle, metric)
        model_value = float(model[metric].dropna().mean())
        result["metrics"][f"oracle_{metric}"] = oracle_value
        result["metrics"][f"model_{metric}"] = model_value
        result["metrics"][f"model_over_oracle_{metric}"] = model_value / oracle_value
    if log:
        from models.tracking import connect

        client = connect(profile)
        for name, value in result["metrics"].items():
            if not name.startswith("model_pei"):
                client.log_metric(run_id, name, value)
    return result
