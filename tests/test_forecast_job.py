"""The forecast job end to end on a generated silver table with one planted hot cell."""

from __future__ import annotations

import datetime as dt
import hashlib

import h3
import numpy as np
import pytest
from conftest import forecast_job_profile

from jobs.settings import ConfigError
from models.targets import load_targets

HOT_CELL = h3.latlng_to_cell(29.76, -95.37, 8)
# The hot cell, its six neighbours and one cell far from them: eight study cells.
OTHER_CELLS = sorted(h3.grid_ring(HOT_CELL, 1)) + [h3.latlng_to_cell(29.70, -95.50, 8)]
# Friday 2010-01-01 to Tuesday 2010-07-27: complete weeks run from Monday 2010-01-04 to the
# week of Monday 2010-07-19, 29 weeks, so the job forecasts the week of Monday 2010-07-26.
FIRST_DATE = dt.date(2010, 1, 1)
OFFENSES = ("robbery", "burglary", "theft", "auto_theft")
LAST_DATE = dt.date(2010, 7, 27)
FORECAST_WEEK = dt.date(2010, 7, 26)
BASELINE_METHODS = (
    "baseline_last_week",
    "baseline_long_run_mean",
    "baseline_ewm_0_8",
    "baseline_ewm_0_9",
    "baseline_kde",
    "baseline_prospective_hotspot",
)


def make_silver_rows(seed: int = 7) -> list[dict]:
    rng = np.random.default_rng(seed)
    loaded_at = dt.datetime(2010, 8, 1, tzinfo=dt.UTC)
    rows = []
    day = FIRST_DATE
    while day <= LAST_DATE:
        for cell in [HOT_CELL, *OTHER_CELLS]:
            # About 6 incidents a week in the hot cell, about 0.7 elsewhere.
            rate = 6.0 / 7 if cell == HOT_CELL else 0.7 / 7
            for _ in range(rng.poisson(rate)):
                lat, lon = h3.cell_to_latlng(cell)
                local = dt.datetime.combine(day, dt.time(int(rng.integers(0, 24))))
                key = f"{cell}-{local.isoformat()}-{len(rows)}"
                rows.append(
                    {
                        "incident_id": hashlib.sha1(key.encode()).hexdigest(),
                        "source": "houston_crime",
                        "city": "houston",
                        "occurred_at_utc": (local + dt.timedelta(hours=6)).replace(tzinfo=dt.UTC),
                        "occurred_at_local": local,
                        "local_date": day,
                        "timezone": "America/Chicago",
                        "time_precision": "hour",
                        "offense": OFFENSES[int(rng.integers(0, len(OFFENSES)))],
                        "category": "property",
                        "lat": lat,
                        "lon": lon,
                        "h3_r7": h3.cell_to_parent(cell, 7),
                        "h3_r8": cell,
                        "h3_r9": h3.cell_to_center_child(cell, 9),
                        "quality_flags": "",
                        "_batch_id": "fixture",
                        "_loaded_at": loaded_at,
                        "_row_hash": key,
                    }
                )
        day += dt.timedelta(days=1)
    return rows


@pytest.fixture(scope="module")
def job_profile(tmp_path_factory):
    import pyarrow as pa
    from deltalake import write_deltalake

    from jobs.schemas import SILVER_INCIDENT_COMMON

    root = tmp_path_factory.mktemp("forecast_job")
    profile = forecast_job_profile(root)
    table = pa.Table.from_pylist(make_silver_rows(), schema=SILVER_INCIDENT_COMMON)
    write_deltalake(str(profile.table_path("silver", "houston_crime")), table)
    return profile


@pytest.fixture(scope="module")
def job_result(spark, job_profile):
    from jobs.forecast import run_forecast

    return run_forecast("houston_all_offences", profile=job_profile)


def test_targets_file_error_names_target_and_field(tmp_path):
    path = tmp_path / "forecasts.yml"
    path.write_text(
        "defaults:\n  period: week\ntargets:\n  broken_target:\n"
        "    source_table: houston_crime\n    timezone: America/Chicago\n"
        "    offenses: [burglary]\n    h3_resolution: 12\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_targets(path)
    assert "target broken_target" in str(caught.value)
    assert "field h3_resolution" in str(caught.value)


def test_targets_file_rejects_invalid_offence(tmp_path):
    path = tmp_path / "forecasts.yml"
    path.write_text("targets:\n  odd:\n    offenses: [Jay Walking]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="Jay Walking"):
        load_targets(path)


@pytest.mark.spark
@pytest.mark.integration
@pytest.mark.slow
def test_run_logs_metrics_of_model_and_baselines(job_result, job_profile):
    from mlflow.tracking import MlflowClient

    uri = job_profile.mlflow_tracking_uri
    run = MlflowClient(tracking_uri=uri).get_run(job_result["run_id"])
    for method in ("model", "baseline_last_week", "baseline_long_run_mean"):
        for fraction in ("1pct", "5pct"):
            assert f"{method}_pei_star_{fraction}" in run.data.metrics, (method, fraction)
            assert f"{method}_pai_{fraction}" in run.data.metrics, (method, fraction)
    assert run.data.params["input_version_silver.houston_crime"] == "0"
    assert run.data.params["n_cells"] == "8"
    assert run.data.params["n_periods"] == "29"
    assert run.data.params["seed"] == str(load_targets()["houston_all_offences"].seed)
    assert "git_commit" in run.data.tags
    artifacts = [
        item.path for item in MlflowClient(tracking_uri=uri).list_artifacts(run.info.run_id)
    ]
    assert "backtest.csv" in artifacts
    assert job_result["model_version"] == "1"


@pytest.mark.spark
@pytest.mark.integration
@pytest.mark.slow
def test_run_logs_tuning_choices(job_result, job_profile):
    from mlflow.tracking import MlflowClient

    from models.spatial_baselines import KDE_BANDWIDTHS_M

    run = MlflowClient(tracking_uri=job_profile.mlflow_tracking_uri).get_run(job_result["run_id"])
    # 29 weeks, 8 evaluated, training from week 4: four tuning weeks fit before the window.
    assert run.data.params["tuning_folds"] == "4"
    assert float(run.data.params["kde_bandwidth_m"]) in KDE_BANDWIDTHS_M
    assert run.data.params["interval_method"] == "conformal_pearson"
    metrics = run.data.metrics
    assert 0 <= metrics["model_interval_coverage_80"] <= 1
    assert 0 <= metrics["model_poisson_interval_coverage_80"] <= 1
    assert metrics["conformal_quantile_backtest"] > 0
    assert metrics["prophet_total_mae"] >= 0
    assert 0 <= metrics["prophet_total_interval_coverage_80"] <= 1
    assert "prophet_total_forecast" in metrics


@pytest.mark.spark
@pytest.mark.integration
@pytest.mark.slow
def test_prophet_model_loads_and_predicts(job_result, job_profile):
    import mlflow
    import pandas as pd

    mlflow.set_tracking_uri(job_profile.mlflow_tracking_uri)
    model = mlflow.prophet.load_model(job_result["prophet_model_uri"])
    forecast = model.predict(pd.DataFrame({"ds": [pd.Timestamp(FORECAST_WEEK)]}))
    assert len(forecast) == 1
    # The fixture has about 6 + 7 * 0.7 = 10.9 incidents a week in its eight cells.
    assert 3 < forecast["yhat"].iloc[0] < 25


@pytest.mark.spark
@pytest.mark.integration
@pytest.mark.slow
def test_champion_alias_follows_rule(job_result, job_profile):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(
        tracking_uri=job_profile.mlflow_tracking_uri,
        registry_uri=job_profile.mlflow_tracking_uri,
    )
    name = "boljam-houston_all_offences"
    version = client.get_model_version(name, "1")
    assert "champion_rule" in version.tags
    aliases = client.get_registered_model(name).aliases
    metrics = job_result["metrics"]
    beats_baselines = all(
        metrics["model_pei_star_1pct"] >= metrics[f"{method}_pei_star_1pct"]
        for method in BASELINE_METHODS
    )
    assert job_result["champion"] is beats_baselines
    assert (str(aliases.get("champion")) == "1") is beats_baselines


@pytest.mark.spark
@pytest.mark.integration
@pytest.mark.slow
def test_hot_cell_ranks_first(job_result, job_profile):
    from deltalake import DeltaTable

    forecasts = DeltaTable(str(job_profile.table_path("gold", "forecasts"))).to_pandas()
    assert job_result["table_versions"]["forecasts"] == 0
    assert len(forecasts) == 8
    assert set(forecasts["period_start"]) == {FORECAST_WEEK}
    top = forecasts.sort_values("risk_rank").iloc[0]
    assert top["h3_cell"] == HOT_CELL
    assert top["risk_rank"] == 1
    assert top["lower"] <= top["predicted"] <= top["upper"]
    assert sorted(forecasts["risk_rank"]) == list(range(1, 9))
    # A hot cell with about six incidents a week is the best single cell in most weeks.
    assert job_result["metrics"]["model_pei_star_1pct"] > 0.8


@pytest.mark.spark
@pytest.mark.integration
@pytest.mark.slow
def test_backtests_table_has_every_fold(job_result, job_profile):
    from deltalake import DeltaTable

    backtests = DeltaTable(str(job_profile.table_path("gold", "backtests"))).to_pandas()
    pei = backtests[backtests["metric"] == "pei_star_1pct"]
    assert sorted(pei["fold"].unique()) == list(range(1, 9))
    assert set(pei["method"]) == {"model", *BASELINE_METHODS}
    # Fold 8 evaluates the last complete week, fold 1 the week seven weeks before it.
    assert set(pei[pei["fold"] == 8]["period_start"]) == {dt.date(2010, 7, 19)}
    assert set(pei[pei["fold"] == 1]["period_start"]) == {dt.date(2010, 5, 31)}
    assert set(backtests["run_id"]) == {job_result["run_id"]}
