"""
### Boljam marts

First the text tasks run on the landed dumps, when the source catalogue has them:
`triage_appeals` classifies, places and links the citizen appeals into silver `appeals` and
logs its models to MLflow, and `tag_media` tags the headlines and articles by threat class
and place into silver `media_items` and finds the emerging terms (gold `emerging_terms`).
Then `build_marts` runs `dbt build` on the marts project (staging, intermediate, marts and
their tests) over the silver Delta tables, into the profile's DuckDB file by default. The
forecast marts (`fct_forecasts`, `fct_model_backtests`) are built by `boljam_report` once the
forecasts exist.

Scheduled by any `silver_<source>` asset; its outlet `marts` schedules `boljam_forecast`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Asset, dag, task

from jobs.dag_defaults import default_args
from jobs.lineage import MARTS_ASSET, SILVER_ASSET_PREFIX, asset_uri
from jobs.sources import load_catalogue

SOURCES = load_catalogue().sources
SILVER_ASSETS = [
    Asset(name=f"{SILVER_ASSET_PREFIX}{name}", uri=asset_uri("silver", name)) for name in SOURCES
]
# The text tasks run only when the profile's catalogue lands their inputs.
APPEAL_SOURCES = {"citizen_appeals"}
MEDIA_SOURCES = {"media_headlines", "media_articles"}
MARTS = Asset(name=MARTS_ASSET[0], uri=MARTS_ASSET[1])


@dag(
    dag_id="boljam_transform",
    schedule=Asset.any(*SILVER_ASSETS) if hasattr(Asset, "any") else SILVER_ASSETS,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args("analytics-engineering"),
    tags=["boljam", "dbt", "marts"],
    doc_md=__doc__,
)
def boljam_transform():
    @task(outlets=[MARTS])
    def build_marts() -> str:
        """Run dbt build on every model and data test that does not read the gold forecast tables.

        The forecast marts read gold tables that the forecast DAG writes after this one;
        the report DAG builds them.
        """
        from jobs.marts import run_dbt

        # Unit tests run on fixed fixtures, so they belong in CI and development, and dbt's
        # docs ("When to run unit tests", dbt 1.8+) advise leaving them out of scheduled builds.
        run_dbt(["build", "--exclude", "source:gold+", "--exclude-resource-type", "unit_test"])
        return "dbt build passed"

    @task
    def triage_appeals() -> dict:
        """Classify, place and link the appeals of silver citizen_appeals and log the models."""
        from jobs.settings import load_profile
        from jobs.text.appeals import triage_appeals as triage
        from jobs.text.config import load_text_settings

        return triage(load_profile(), load_text_settings())

    @task
    def tag_media() -> dict:
        """Tag the landed headlines and articles and find the week's emerging terms."""
        from jobs.settings import load_profile
        from jobs.text.appeals import tag_media as tag
        from jobs.text.config import load_text_settings

        return tag(load_profile(), load_text_settings())

    marts = build_marts()
    if APPEAL_SOURCES <= SOURCES.keys():
        triage_appeals() >> marts
    if MEDIA_SOURCES <= SOURCES.keys():
        tag_media() >> marts


boljam_transform()
