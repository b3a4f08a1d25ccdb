"""The text tasks of boljam_transform in the shared pipeline run: tables, marts and MLflow.

The appeal and media dumps are landed whole (not sampled): 1,200 appeals, 145 headlines
and one article.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.spark]

APPEALS = 1_200
MEDIA_ITEMS = 145 + 1


def _lake_rows(root, layer: str, name: str) -> int:
    from deltalake import DeltaTable

    return DeltaTable(str(root / "var" / "lake" / layer / name)).to_pyarrow_table().num_rows


def _scalar(root, sql: str):
    import duckdb

    path = root / "var" / "marts" / "boljam.duckdb"
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(sql).fetchone()[0]


def test_triaged_appeals_table_rows(pipeline_run):
    root, _ = pipeline_run
    assert _lake_rows(root, "silver", "appeals") == APPEALS


def test_media_items_table_rows(pipeline_run):
    root, _ = pipeline_run
    assert _lake_rows(root, "silver", "media_items") == MEDIA_ITEMS


def test_appeals_weekly_counts_every_appeal(pipeline_run):
    root, _ = pipeline_run
    total = _scalar(root, "select sum(appeal_count) from marts.agg_appeals_weekly")
    assert total == APPEALS
    unplaced = _scalar(
        root,
        "select coalesce(sum(appeal_count), 0) from marts.agg_appeals_weekly"
        " where region_code = 'UNK'",
    )
    assert unplaced < APPEALS


def test_media_signals_count_every_item(pipeline_run):
    root, _ = pipeline_run
    total = _scalar(root, "select sum(item_count) from marts.agg_media_signals_weekly")
    assert total == MEDIA_ITEMS


def test_emerging_terms_mart_matches_gold(pipeline_run):
    root, _ = pipeline_run
    mart_rows = _scalar(root, "select count(*) from marts.fct_emerging_terms")
    assert mart_rows == _lake_rows(root, "gold", "emerging_terms")


@pytest.mark.parametrize("task", ["category", "urgency"])
def test_triage_model_is_champion(pipeline_run, task):
    from mlflow.tracking import MlflowClient

    root, _ = pipeline_run
    uri = f"sqlite:///{root / 'var' / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    version = client.get_model_version_by_alias(f"boljam-text-{task}-both", "champion")
    run = client.get_run(version.run_id)
    assert run.data.tags["step"] == "triage_appeals"
    assert 0.0 < run.data.metrics["macro_f1"] <= 1.0
    assert float(version.tags["macro_f1"]) == pytest.approx(run.data.metrics["macro_f1"])


def test_media_threat_model_is_registered(pipeline_run):
    from mlflow.tracking import MlflowClient

    root, _ = pipeline_run
    uri = f"sqlite:///{root / 'var' / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    version = client.get_model_version_by_alias("boljam-text-media-threats", "champion")
    run = client.get_run(version.run_id)
    assert run.data.tags["step"] == "tag_media"
    assert 0.0 <= run.data.metrics["weak_macro_f1"] <= 1.0
    assert run.data.params["items"] == str(MEDIA_ITEMS)
