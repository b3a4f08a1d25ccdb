"""
### Boljam reports

Writes the self-contained HTML report of every forecast target from the gold forecast and
backtest tables into `var/reports/`.

Scheduled by the `gold_forecasts` asset.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Asset, dag, task

from jobs.dag_defaults import default_args
from jobs.lineage import GOLD_FORECASTS_ASSET
from jobs.settings import CONF_DIR, read_yaml

TARGETS = read_yaml(CONF_DIR / "forecasts.yml")["targets"]
GOLD_FORECASTS = Asset(name=GOLD_FORECASTS_ASSET[0], uri=GOLD_FORECASTS_ASSET[1])


@dag(
    dag_id="boljam_report",
    schedule=[GOLD_FORECASTS],
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args("forecasting-center"),
    tags=["boljam", "reports"],
    doc_md=__doc__,
)
def boljam_report():
    for target in TARGETS:

        @task(task_id=f"report_{target}")
        def write_report(target_name: str = target) -> str:
            """Render the HTML report of one target from the gold tables."""
            from jobs.report import write_report as render
            from jobs.settings import load_profile

            profile = load_profile()
            return str(render(target_name, profile.var / "reports", profile))

        write_report()


boljam_report()
