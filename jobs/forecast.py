"""``boljam forecast``: backtest and forecast one target on Spark, tracked in MLflow.

The job reads the target's silver Delta table at its current version and builds the weekly
H3 panel and features in Spark. It runs the rolling-origin backtest of LightGBM and the
baselines (one ``applyInPandas`` group per fold), then fits the final model on every
complete week and forecasts the next week for every study cell. One MLflow run per call
logs the parameters, seed, code version, input table version, averaged metrics, the
per-fold backtest as CSV and the model, which it registers. The forecasts and per-fold
metrics are appended to the gold Delta tables ``forecasts`` and ``backtests`` with the
run id.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from jobs.settings import Profile, load_profile
from models.targets import TargetConfig, get_target

if TYPE_CHECKING:
    import lightgbm
    import pandas as pd

logger = logging.getLogger(__name__)

MODEL_NAME = "lightgbm"
TOP_CONTRIBUTIONS = 3


class ForecastInputError(RuntimeError):
    """The source table of a target is missing or too short to backtest and forecast."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        required=True,
        help="forecast target defined in conf/forecasts.yml, for example houston_all_offences",
    )
    parser.add_argument(
        "--targets-file",
        type=Path,
        default=None,
        help="YAML file that defines the targets; default: the profile's forecasts_file "
        "(conf/forecasts.yml on the embedded default)",
    )


def run(args: argparse.Namespace) -> int:
    result = run_forecast(args.target, targets_file=args.targets_file)
    print(json.dumps(result, indent=2, sort_keys=True, default=str))
    return 0


def run_forecast(
    target_name: str,
    profile: Profile | None = None,
    targets_file: Path | None = None,
) -> dict:
    """Backtest and forecast ``target_name``; return the run id, metrics and table versions."""
    import mlflow

    from jobs.delta_io import table_version
    from jobs.spark_delta import read_delta
    from jobs.spark_session import get_spark
    from models.backtest import ship_modules, summarise
    from models.features import build_features
    from models.metrics import fraction_label
    from models.panel import build_panel, select_target_incidents, source_period_range
    from models.tracking import (
        apply_champion_rule,
        connect,
        ensure_experiment,
        registered_model_name,
    )

    profile = profile or load_profile()
    target = get_target(target_name, targets_file or profile.forecasts_path)
    source_path = profile.table_path(target.source_layer, target.source_table)
    source_version = table_version(source_path)
    if source_version is None:
        raise ForecastInputError(
            f"source table {source_path} of target {target_name} is not a Delta table; "
            "run the ingestion of its source first"
        )

    # Wall-clock seconds of each phase, returned for logs and bench/forecast.py.
    timings: dict[str, float] = {}
    started = time.monotonic()

    # Connect before the Spark work, so that a tracking store problem fails the job early.
    client = connect(profile)
    experiment_id = ensure_experiment(client, profile, target_name)

    timings["mlflow_connect"] = time.monotonic() - started
    spark = get_spark(f"boljam-forecast-{target_name}", profile)
    ship_modules()
    silver = read_delta(spark, source_path, version=source_version)
    periods = source_period_range(silver, target)
    required = target.min_history_periods + target.evaluation_periods + 1
    if periods.n_periods < required:
        raise ForecastInputError(
            f"target {target_name} needs at least {required} complete periods ({target.period}; "
            f"min_history_periods + evaluation_periods + 1) but {source_path} has "
            f"{periods.n_periods}"
        )

    panel = build_panel(select_target_incidents(silver, target), periods, target.horizon)
    features = build_features(
        panel, target.features, target.country, target.subdivision, target.period, target.unit
    ).persist()
    params = target.lightgbm.to_params(target.seed)
    try:
        backtest = _run_backtest(spark, silver, panel, features, periods, target, params)
        history, upcoming = _final_frames(
            features,
            periods.n_periods,
            _first_training_period(target, periods.n_periods),
            _feature_columns(target),
        )
    finally:
        features.unpersist()
    timings["features_and_backtest"] = time.monotonic() - started - sum(timings.values())
    scores = backtest["scores"]
    summary = summarise(scores)
    n_cells = len(upcoming)
    logger.info(
        "Target %s: %d %s units, %d complete periods (%s), model PEI* %s %.3f",
        target_name,
        n_cells,
        target.unit,
        periods.n_periods,
        target.period,
        fraction_label(target.champion_fraction),
        summary.get(f"model_pei_star_{fraction_label(target.champion_fraction)}", float("nan")),
    )

    forecast_start = periods.start(periods.n_periods)
    input_versions = {f"{target.source_layer}.{target.source_table}": source_version}
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=f"{target_name}-{forecast_start}"
    ) as active:
        run_id = active.info.run_id
        _log_run_inputs(target, periods, n_cells, source_path, input_versions)
        mlflow.log_params(backtest["params"])
        booster = _fit_final(history, params, target)
        forecast = _forecast_frame(
            booster, upcoming, target, run_id, forecast_start, backtest["final_quantile"]
        )
        mlflow.log_metrics(summary)
        mlflow.log_metrics(backtest["tuning_metrics"])
        _log_backtest(scores)
        prophet_model_uri = None
        if backtest["prophet"] is not None:
            prophet_model_uri = _log_prophet(backtest["prophet"], target_name)
        model_version = _log_model(booster, history, target_name, _feature_columns(target))
        promoted = False
        if model_version is not None:
            promoted, _ = apply_champion_rule(
                client,
                registered_model_name(target_name),
                model_version,
                summary,
                f"pei_star_{fraction_label(target.champion_fraction)}",
            )
        mlflow.set_tag("champion", str(promoted).lower())
        table_versions = _write_gold(spark, profile, forecast, scores, target_name, run_id)
        timings["final_model_and_outputs"] = time.monotonic() - started - sum(timings.values())
        mlflow.log_metrics({f"seconds_{phase}": value for phase, value in timings.items()})
        mlflow.set_tags({f"gold_{name}_version": v for name, v in table_versions.items()})

    return {
        "target": target_name,
        "run_id": run_id,
        "experiment_id": experiment_id,
        "model_version": model_version,
        "champion": promoted,
        "period": target.period,
        "unit": target.unit,
        "forecast_period_start": forecast_start.isoformat(),
        "n_cells": n_cells,
        "n_periods": periods.n_periods,
        "metrics": summary,
        "backtest_params": backtest["params"],
        "prophet_model_uri": prophet_model_uri,
        "input_versions": input_versions,
        "table_versions": table_versions,
        "timings_seconds": timings,
    }


def _feature_columns(target: TargetConfig) -> list[str]:
    from models.features import feature_columns

    return feature_columns(target.features, target.country)


def _run_backtest(spark, silver, panel, features, periods, target: TargetConfig, params) -> dict:
    """Run the rolling-origin backtest of the model, the baselines and Prophet.

    Returns the per-fold scores of the evaluation folds (``scores``), the parameters and
    tuning-fold metrics to log, the conformal quantile for the final forecast and the
    Prophet result (None when the target has no aggregate model).
    """
    import pandas as pd

    from models.backtest import (
        PREDICTION_SCHEMA,
        add_conformal_intervals,
        baseline_predictions,
        fold_rows,
        fold_weeks,
        model_predictions,
        score_folds,
    )
    from models.metrics import fraction_label, mean_pei_star

    folds = fold_weeks(
        spark,
        periods,
        target.evaluation_periods,
        target.tuning_periods,
        target.min_history_periods,
    )
    n_tuning = folds.filter("fold <= 0").count()
    rows = fold_rows(features, folds, target.min_history_periods, target.training_window_periods)
    level = target.interval_level
    model_rows = model_predictions(
        rows,
        _feature_columns(target),
        params,
        target.lightgbm.num_boost_round,
        level,
        target.training_zero_fraction,
    ).toPandas()
    model_rows, evaluation_quantile, final_quantile = add_conformal_intervals(model_rows, level)

    coordinate = _coordinate_baselines(spark, silver, panel, rows, folds, periods, target)
    evaluation_frames = [model_rows[model_rows["fold"] >= 1]]
    if coordinate["evaluation_rows"] is not None:
        evaluation_frames.append(coordinate["evaluation_rows"])
    evaluation = pd.concat(evaluation_frames, ignore_index=True)
    predictions = spark.createDataFrame(evaluation, PREDICTION_SCHEMA).unionByName(
        baseline_predictions(rows.filter("fold >= 1"))
    )
    fractions = sorted(set(target.hotspot_fractions) | {target.champion_fraction})
    scores = score_folds(predictions, fractions, level, target.unit).toPandas()

    prophet = None
    if target.aggregate_model == "prophet":
        prophet = _run_prophet(spark, panel, folds.filter("fold >= 1"), periods, target)
        scores = pd.concat([scores, prophet["scores"]], ignore_index=True)
    scores = scores.sort_values(["fold", "method", "metric"], ignore_index=True)

    backtest_params = {
        "tuning_folds": n_tuning,
        **coordinate["params"],
        "interval_method": "conformal_pearson" if evaluation_quantile else "poisson",
    }
    if target.unit == "region":
        backtest_params["pai"] = "skipped: regions have no area in the lake"
    champion_label = fraction_label(target.champion_fraction)
    tuning_metrics = {
        f"tuning_kde_pei_star_{champion_label}_bw_{value:g}": mean
        for value, mean in coordinate["tuning_pei"].items()
        if mean == mean
    }
    tuning_model = mean_pei_star(model_rows[model_rows["fold"] <= 0], target.champion_fraction)
    if tuning_model == tuning_model:
        # Compares model variants without looking at the evaluation periods.
        tuning_metrics[f"tuning_model_pei_star_{champion_label}"] = tuning_model
    if evaluation_quantile is not None:
        tuning_metrics["conformal_quantile_backtest"] = evaluation_quantile
    if final_quantile is not None:
        tuning_metrics["conformal_quantile_final"] = final_quantile
    logger.info(
        "Target %s: %d tuning folds, KDE bandwidth %s, conformal quantile %s",
        target.name,
        n_tuning,
        backtest_params.get("kde_bandwidth_m", "not used"),
        evaluation_quantile,
    )
    return {
        "scores": scores,
        "params": backtest_params,
        "tuning_metrics": tuning_metrics,
        "final_quantile": final_quantile,
        "prophet": prophet,
    }


def _coordinate_baselines(spark, silver, panel, rows, folds, periods, target) -> dict:
    """Score the KDE and prospective hot-spot baselines, which need incident coordinates.

    Returns their evaluation-fold rows (PREDICTION_SCHEMA columns, None when skipped), the
    parameters to log
    and the mean tuning PEI* of each KDE bandwidth. Region targets skip both baselines,
    because a region code has no H3 cell to place a density or a hot-spot surface on, and
    the skip is logged as the parameter ``coordinate_baselines``.
    """
    from models.backtest import coordinate_predictions
    from models.panel import select_target_coordinates
    from models.spatial_baselines import (
        KDE_BANDWIDTHS_M,
        KDE_METHOD,
        ProspectiveSettings,
        choose_bandwidth,
        fine_grid_steps,
    )

    if target.unit == "region":
        reason = "skipped: region units have no H3 cells for the KDE and hot-spot surfaces"
        logger.info("Target %s: coordinate baselines %s", target.name, reason)
        return {
            "evaluation_rows": None,
            "params": {"coordinate_baselines": reason},
            "tuning_pei": {},
        }
    cells = sorted(row["h3_cell"] for row in panel.select("h3_cell").distinct().collect())
    prospective = ProspectiveSettings()
    test_rows = rows.filter("role = 'test'").select("fold", "h3_cell", "week_start", "count")
    coordinate_rows = coordinate_predictions(
        select_target_coordinates(silver, target, periods),
        folds,
        test_rows,
        cells,
        target.h3_resolution,
        KDE_BANDWIDTHS_M,
        prospective,
    ).toPandas()
    is_kde = coordinate_rows["method"] == KDE_METHOD
    bandwidth, tuning_pei = choose_bandwidth(
        coordinate_rows[is_kde & (coordinate_rows["fold"] <= 0)],
        target.champion_fraction,
        default_m=KDE_BANDWIDTHS_M[1],
    )
    chosen = ~is_kde | (coordinate_rows["bandwidth_m"] == bandwidth)
    fine_resolution, fine_steps = fine_grid_steps(target.h3_resolution, prospective.band_m)
    # NOTE: the prospective window counts periods, so it spans 8 days, weeks or months.
    return {
        "evaluation_rows": coordinate_rows[chosen & (coordinate_rows["fold"] >= 1)].drop(
            columns="bandwidth_m"
        ),
        "params": {
            "kde_bandwidth_m": bandwidth,
            "kde_bandwidth_candidates_m": ",".join(f"{value:g}" for value in KDE_BANDWIDTHS_M),
            "prospective_band_m": prospective.band_m,
            "prospective_weeks": prospective.weeks,
            "prospective_fine_resolution": fine_resolution,
            "prospective_max_grid_distance": fine_steps,
        },
        "tuning_pei": tuning_pei,
    }


def _run_prophet(spark, panel, folds, periods, target: TargetConfig) -> dict:
    """Backtest and fit Prophet on the study area's total per period, one Spark group per fold."""
    from models.prophet_totals import (
        FINAL_FOLD,
        prophet_predictions,
        score_totals,
        weekly_totals,
    )

    predictions = prophet_predictions(
        weekly_totals(panel, area="study_area"),
        folds,
        periods,
        target.min_history_periods,
        target.interval_level,
        target.seed,
    ).toPandas()
    final = predictions[predictions["fold"] == FINAL_FOLD].iloc[0]
    return {
        "scores": score_totals(predictions, target.interval_level),
        "model_json": final["model_json"],
        "forecast": {
            "prophet_total_forecast": float(final["score"]),
            "prophet_total_forecast_lower": float(final["lower"]),
            "prophet_total_forecast_upper": float(final["upper"]),
        },
    }


def _log_prophet(prophet: dict, target_name: str) -> str:
    """Log the final Prophet model of the period totals and its next-period forecast.

    Returns the model URI.
    """
    import mlflow
    import prophet as prophet_package
    from prophet.serialize import model_from_json

    mlflow.log_metrics(prophet["forecast"])
    info = mlflow.prophet.log_model(
        model_from_json(prophet["model_json"]),
        name="prophet_total",
        # Pinned here so that MLflow does not infer the requirements in a subprocess.
        pip_requirements=[f"prophet=={prophet_package.__version__}"],
    )
    logger.info("Logged the Prophet model of the period totals of %s", target_name)
    return info.model_uri


def _first_training_period(target: TargetConfig, n_periods: int) -> int:
    """Return the index of the final model's first training period."""
    if target.training_window_periods is None:
        return target.min_history_periods
    return max(target.min_history_periods, n_periods - target.training_window_periods)


def _final_frames(features, n_periods: int, first_period: int, feature_columns: list[str]):
    """Return the final model's training rows (periods ``first_period`` to ``n_periods - 1``)
    and the forecast period's rows as pandas."""
    from pyspark.sql import functions as F

    columns = ["h3_cell", "week_start", "week_index", "count", *feature_columns]
    history = (
        features.filter(F.col("week_index").between(first_period, n_periods - 1))
        .select(*columns)
        .toPandas()
    )
    upcoming = (
        features.filter(F.col("week_index") == n_periods)
        .select(*columns)
        .orderBy("h3_cell")
        .toPandas()
    )
    return history, upcoming


def _fit_final(history: pd.DataFrame, params: dict, target: TargetConfig) -> lightgbm.Booster:
    from models.training import fit_booster

    return fit_booster(
        history,
        _feature_columns(target),
        params,
        target.lightgbm.num_boost_round,
        target.training_zero_fraction,
    )


def _forecast_frame(
    booster: lightgbm.Booster,
    upcoming: pd.DataFrame,
    target: TargetConfig,
    run_id: str,
    period_start: dt.date,
    interval_quantile: float | None = None,
) -> pd.DataFrame:
    """Return the gold forecast rows: prediction, interval, risk rank and explanations.

    ``area_id`` is the unit's H3 cell or region code, and ``h3_cell`` is null for regions.

    The interval is split-conformal with ``interval_quantile`` (Pearson units) when given,
    otherwise the Poisson interval around the prediction.
    """
    import pandas as pd

    from models.intervals import conformal_interval
    from models.metrics import rank_cells
    from models.training import feature_matrix, poisson_interval, top_contributions

    columns = _feature_columns(target)
    predicted = booster.predict(feature_matrix(upcoming, columns))
    if interval_quantile is None:
        lower, upper = poisson_interval(predicted, target.interval_level)
    else:
        lower, upper = conformal_interval(predicted, interval_quantile)
    cells = upcoming["h3_cell"].tolist()
    ranks = [0] * len(cells)
    for rank, position in enumerate(rank_cells(predicted, cells), start=1):
        ranks[position] = rank
    return pd.DataFrame(
        {
            "target": target.name,
            "run_id": run_id,
            "model": MODEL_NAME,
            "period": target.period,
            "period_start": period_start,
            "unit": target.unit,
            "area_id": cells,
            "h3_cell": cells if target.unit == "h3" else None,
            "predicted": predicted.astype(float),
            "lower": lower,
            "upper": upper,
            "risk_rank": pd.Series(ranks, dtype="int32"),
            "top_contributions": top_contributions(booster, upcoming, columns, TOP_CONTRIBUTIONS),
            "created_at": pd.Timestamp.now(tz="UTC").floor("us"),
        }
    ).sort_values("risk_rank", ignore_index=True)


def _log_run_inputs(target, periods, n_cells, source_path, input_versions) -> None:
    import mlflow

    from models.tracking import code_version

    settings = target.model_dump(exclude={"lightgbm", "features", "description", "name"})
    settings["offenses"] = "all" if target.offenses == "all" else ",".join(sorted(target.offenses))
    params = {
        "target": target.name,
        **settings,
        **{f"lightgbm_{key}": value for key, value in target.lightgbm.model_dump().items()},
        **{f"features_{key}": value for key, value in target.features.model_dump().items()},
        "feature_columns": ",".join(_feature_columns(target)),
        "objective": target.lightgbm.objective,
        "first_period_start": periods.first_start.isoformat(),
        "last_period_start": periods.last_start.isoformat(),
        "n_periods": periods.n_periods,
        "n_cells": n_cells,
        "source_path": str(source_path),
        **{f"input_version_{name}": version for name, version in input_versions.items()},
    }
    mlflow.log_params(params)
    version = code_version()
    mlflow.set_tags({**version, "mlflow.source.git.commit": version["git_commit"]})


def _log_backtest(scores: pd.DataFrame) -> None:
    import mlflow

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "backtest.csv"
        scores.to_csv(path, index=False)
        mlflow.log_artifact(str(path))


def _log_model(
    booster, history: pd.DataFrame, target_name: str, feature_columns: list[str]
) -> str | None:
    """Log the booster with its signature, register it and return the new model version."""
    import lightgbm
    import mlflow
    from mlflow.models import infer_signature

    from models.tracking import registered_model_name
    from models.training import feature_matrix

    sample = feature_matrix(history.head(200), feature_columns)
    signature = infer_signature(sample, booster.predict(sample))
    info = mlflow.lightgbm.log_model(
        booster,
        name="model",
        signature=signature,
        registered_model_name=registered_model_name(target_name),
        # Pinned here so that MLflow does not infer the requirements in a subprocess.
        pip_requirements=[f"lightgbm=={lightgbm.__version__}"],
    )
    version = getattr(info, "registered_model_version", None)
    return None if version is None else str(version)


def _write_gold(spark, profile, forecast, scores, target_name, run_id) -> dict[str, int]:
    from pyspark.sql.pandas.types import from_arrow_schema

    from jobs.schemas import GOLD_BACKTESTS, GOLD_FORECASTS
    from jobs.spark_delta import write_delta

    backtests = scores[["fold", "period_start", "method", "metric", "value"]].assign(
        target=target_name, run_id=run_id
    )
    backtests["fold"] = backtests["fold"].astype("int32")
    upgrade_gold_forecasts(profile.table_path("gold", "forecasts"))
    versions = {}
    for name, frame, schema in (
        ("forecasts", forecast, GOLD_FORECASTS),
        ("backtests", backtests, GOLD_BACKTESTS),
    ):
        df = spark.createDataFrame(frame[schema.names], schema=from_arrow_schema(schema))
        versions[name] = write_delta(
            df, profile.table_path("gold", name), mode="append", partition_by=["target"]
        )
    return versions


def upgrade_gold_forecasts(path) -> bool:
    """Add the period and unit columns to a gold forecasts table written before they existed.

    Older rows are weekly H3 forecasts, so they get ``period`` week, ``unit`` h3 and their
    cell as ``area_id``. The table is rewritten once with delta-rs as a new version, so its
    history keeps the old rows. Returns whether the table was rewritten.
    """
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    from jobs.schemas import GOLD_FORECASTS

    location = str(path)
    if not DeltaTable.is_deltatable(location):
        return False
    table = DeltaTable(location)
    columns = {field.name for field in table.schema().fields}
    if "area_id" in columns:
        return False
    old = table.to_pyarrow_table()
    rows = old.num_rows
    upgraded = pa.table(
        {
            **{name: old.column(name) for name in old.column_names},
            "period": pa.array(["week"] * rows, pa.string()),
            "unit": pa.array(["h3"] * rows, pa.string()),
            "area_id": old.column("h3_cell"),
        }
    ).select(GOLD_FORECASTS.names)
    write_deltalake(
        location,
        upgraded.cast(GOLD_FORECASTS),
        mode="overwrite",
        schema_mode="overwrite",
        partition_by=list(table.metadata().partition_columns),
    )
    logger.warning(
        "Upgraded gold forecasts table %s: added period, unit and area_id to %d weekly H3 rows",
        location,
        rows,
    )
    return True
