"""
### Boljam ingestion

Lands every source of `conf/sources.yml` into bronze, merges it into silver and runs the
source's Great Expectations suite. Each source is its own task group, so it can be run,
retried or cleared alone; a failing source does not stop the others.

Outlets: one `silver_<source>` asset per source, which schedules `boljam_transform`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Asset, TaskGroup, dag, task

from jobs.dag_defaults import default_args
from jobs.lineage import SILVER_ASSET_PREFIX, asset_uri
from jobs.sources import load_catalogue

CATALOGUE = load_catalogue()


@dag(
    dag_id="boljam_ingest",
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args("data-engineering"),
    tags=["boljam", "ingestion"],
    doc_md=__doc__,
)
def boljam_ingest():
    for name, source in CATALOGUE.sources.items():
        silver_asset = Asset(name=f"{SILVER_ASSET_PREFIX}{name}", uri=asset_uri("silver", name))
        with TaskGroup(group_id=name, tooltip=source.description):

            @task(task_id="land_bronze", owner=source.owner)
            def land_bronze(source_name: str = name) -> dict:
                """Append the source's new rows to its bronze table."""
                from jobs.ingest.run import ingest_source

                return ingest_source(source_name, stage="bronze")

            @task(task_id="merge_silver", owner=source.owner)
            def merge_silver(source_name: str = name) -> dict:
                """Type, validate and merge pending bronze batches into silver."""
                from jobs.ingest.run import ingest_source

                return ingest_source(source_name, stage="silver")

            @task(task_id="validate_silver", owner=source.owner, outlets=[silver_asset])
            def validate_silver(source_name: str = name) -> dict:
                """Run the Great Expectations suite; a failure stops everything downstream."""
                from jobs.quality import validate_source

                result = validate_source(source_name)
                return {"evaluated": result.evaluated, "data_docs": result.data_docs}

            land_bronze() >> merge_silver() >> validate_silver()


boljam_ingest()
