"""
### Boljam reports

Writes the self-contained HTML report of every forecast target into `var/reports/`, from
the gold forecast and backtest tables. The emerging hot spots of every H3 target go to the
gold `emerging_hotspots` table. Then one PDF letter per region of `conf/letters.yml` goes
to `var/outbox/<date>/`, and by e-mail when a loopback SMTP server is configured.

It first builds the dbt marts over the gold tables (`fct_forecasts`, `fct_model_backtests`),
so the reports read a marts file that no build keeps open.

Scheduled by the `gold_forecasts` asset.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Asset, Param, dag, task

from jobs.dag_defaults import default_args
from jobs.lineage import GOLD_FORECASTS_ASSET
from jobs.settings import load_profile, read_yaml

# The active profile's targets: conf/forecasts.yml on the embedded default.
TARGETS = read_yaml(load_profile().forecasts_path)["targets"]
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
    params={
        "targets": Param(
            sorted(TARGETS), type="array", description="targets to report; others are skipped"
        )
    },
)
def boljam_report():
    # The reports read the marts file (the kz fraud registration section), which dbt keeps
    # open for writing while it builds, so they start after the forecast marts.
    forecast_marts = build_forecast_marts()
    letters = write_letters()
    for target in TARGETS:
        # all_done: a failed marts build does not hold back the reports of the gold tables.
        @task(task_id=f"report_{target}", trigger_rule="all_done")
        def write_report(target_name: str = target, params: dict | None = None) -> str:
            """Render the HTML report of one target from the gold tables."""
            from jobs.report import write_report as render

            skip_unless_selected(target_name, params)
            from jobs.settings import load_profile

            profile = load_profile()
            return str(render(target_name, profile.var / "reports", profile))

        forecast_marts >> write_report()

        @task(task_id=f"hotspots_{target}")
        def write_hotspots(target_name: str = target, params: dict | None = None) -> int:
            """Classify the emerging hot spots of one target into the gold table."""
            skip_unless_selected(target_name, params)
            from airflow.exceptions import AirflowSkipException

            from jobs.hotspots.cli import DEFAULT_ALPHA, DEFAULT_K_RING, write_target
            from jobs.hotspots.job import skip_reason
            from jobs.settings import load_profile
            from models.targets import load_targets

            target_config = load_targets()[target_name]
            reason = skip_reason(target_config)
            if reason is not None:
                raise AirflowSkipException(reason)
            return write_target(
                target_name, DEFAULT_K_RING, DEFAULT_ALPHA, load_profile(), target_config
            )

        write_hotspots() >> letters


@task(task_id="build_forecast_marts")
def build_forecast_marts() -> str:
    """Run dbt build on the marts that read the gold forecast and backtest tables."""
    from jobs.marts import run_dbt

    run_dbt(["build", "--select", "source:gold+"])
    return "dbt build of the forecast marts passed"


def skip_unless_selected(target_name: str, params: dict | None) -> None:
    """Skip the task when the run's params leave its target out."""
    from airflow.exceptions import AirflowSkipException

    if params and target_name not in params["targets"]:
        raise AirflowSkipException(f"target {target_name} is not in params.targets")


# Letters go out once every hot spot task has ended, with the sections that succeeded.
@task(task_id="write_letters", trigger_rule="all_done")
def write_letters() -> list[str]:
    """Write the PDF letter of every region and send it when SMTP is configured."""
    from jobs.letters.cli import write_letters as write_all
    from jobs.letters.settings import load_letter_settings
    from jobs.settings import load_profile

    profile = load_profile()
    letters = write_all(profile, load_letter_settings(profile.letters_path))
    return [str(letter.pdf) for letter in letters]


boljam_report()
