"""
### Boljam forecasts

Each target of the profile's forecast file (`conf/forecasts.yml` by default) first has its
source's silver table checked against the Great Expectations suite. Then a Spark job
builds the H3 panel and features, backtests LightGBM against the baselines and logs to
MLflow. It writes next-period forecasts to the gold Delta tables. A failed quality check
stops the forecasts of that source.

Scheduled by the `marts` asset; its outlet `gold_forecasts` schedules `boljam_report`.
Trigger it with `{"targets": [...]}` as the run's conf to forecast only some targets.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Asset, Param, dag, task

from jobs.dag_defaults import default_args
from jobs.lineage import GOLD_FORECASTS_ASSET, MARTS_ASSET
from jobs.settings import load_profile, read_yaml

# The active profile's targets: conf/forecasts.yml on the embedded default.
TARGETS = read_yaml(load_profile().forecasts_path)["targets"]
MARTS = Asset(name=MARTS_ASSET[0], uri=MARTS_ASSET[1])
GOLD_FORECASTS = Asset(name=GOLD_FORECASTS_ASSET[0], uri=GOLD_FORECASTS_ASSET[1])


@dag(
    dag_id="boljam_forecast",
    schedule=[MARTS],
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args("forecasting"),
    tags=["boljam", "forecast", "spark", "mlflow"],
    doc_md=__doc__,
    params={
        "targets": Param(
            sorted(TARGETS), type="array", description="targets to forecast; others are skipped"
        )
    },
)
def boljam_forecast():
    checks = {}
    for source_table in sorted({spec["source_table"] for spec in TARGETS.values()}):

        @task(task_id=f"check_quality_{source_table}")
        def check_quality(source_name: str = source_table) -> int:
            """Validate the silver table; raising here skips the forecasts that read it."""
            from jobs.quality import validate_source

            return validate_source(source_name).evaluated

        checks[source_table] = check_quality()

    for target, spec in TARGETS.items():

        @task(task_id=f"forecast_{target}", outlets=[GOLD_FORECASTS])
        def forecast(target_name: str = target, params: dict | None = None) -> dict:
            """Backtest, log to MLflow and write the next-period forecast of one target."""
            from airflow.exceptions import AirflowSkipException

            from jobs.forecast import run_forecast

            if params and target_name not in params["targets"]:
                raise AirflowSkipException(f"target {target_name} is not in params.targets")
            result = run_forecast(target_name)
            return {key: value for key, value in result.items() if key != "metrics"}

        checks[spec["source_table"]] >> forecast()


boljam_forecast()
