"""End to end: the four DAGs run through Airflow on a slice of the real data.

The run itself is the session fixture ``pipeline_run`` of conftest.py.
"""

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.spark]

# Must match PIPELINE_SAMPLE_EVERY, the sampling of the pipeline_run fixture.
SAMPLE_EVERY = 10
# Rows of the real files (data README), and so rows seeded when every 10th row is kept.
REAL_ROWS = {
    "houston_crime": 86_314,
    "portland_calls": 19_376 + 18_443,
    "edinburgh_accidents": 4_074,
}


def expected_sample(rows: int) -> int:
    return (rows + SAMPLE_EVERY - 1) // SAMPLE_EVERY


def test_summary_file_is_written(pipeline_run):
    root, summary = pipeline_run
    on_disk = json.loads((root / "var" / "demo" / "summary.json").read_text())
    assert on_disk["rows"] == summary["rows"]


def test_bronze_has_every_seeded_row(pipeline_run):
    _, summary = pipeline_run
    for source, rows in REAL_ROWS.items():
        assert summary["rows"]["bronze"][source] == expected_sample(rows), source


def test_silver_plus_rejects_equals_bronze(pipeline_run):
    _, summary = pipeline_run
    rejected = {s: sum(r.values()) for s, r in summary["rejects_by_reason"].items()}
    for source in REAL_ROWS:
        bronze = summary["rows"]["bronze"][source]
        silver = summary["rows"]["silver"][source]
        assert silver + rejected.get(source, 0) == bronze, source
    assert summary["rows"]["silver"]["rejects"] == sum(rejected.values())


def test_batches_reconcile(pipeline_run):
    _, summary = pipeline_run
    assert set(REAL_ROWS) <= {batch["source"] for batch in summary["batches"]}
    for batch in summary["batches"]:
        parts = batch["inserted"] + batch["updated"] + batch["duplicates"] + batch["rejected"]
        assert parts == batch["rows_read"], batch


def test_dumps_land_as_record_tables(pipeline_run):
    _, summary = pipeline_run
    # The appeals and headline dumps are copied whole: 1,200 appeals and 145 headlines.
    assert summary["rows"]["bronze"]["citizen_appeals"] == 1_200
    assert summary["rows"]["bronze"]["media_headlines"] == 145
    assert summary["rows"]["silver"]["media_headlines"] == 145


def test_houston_rejects_have_known_reasons(pipeline_run):
    _, summary = pipeline_run
    reasons = summary["rejects_by_reason"]["houston_crime"]
    # A 10% sample of 210 far-away points and 5 without coordinates keeps some of them.
    assert set(reasons) <= {"out_of_area", "missing_coordinates", "duplicate_content"}
    assert reasons.get("out_of_area", 0) > 0


def test_every_table_is_a_delta_table(pipeline_run):
    _, summary = pipeline_run
    assert summary["tables"], "no tables in the summary"
    for name, info in summary["tables"].items():
        assert (Path(info["path"]) / "_delta_log").is_dir(), name
        assert info["version"] >= 0


def test_gold_tables_exist(pipeline_run):
    _, summary = pipeline_run
    assert summary["rows"]["gold"]["forecasts"] > 0
    assert summary["rows"]["gold"]["backtests"] > 0


def test_mlflow_run_has_pei_for_model_and_baselines(pipeline_run):
    _, summary = pipeline_run
    run = summary["forecasts"]["houston_all_offences"]
    metrics = run["metrics"]
    for method in ("model", "baseline_last_week", "baseline_long_run_mean"):
        for fraction in ("1pct", "5pct"):
            name = f"{method}_pei_star_{fraction}"
            assert name in metrics, name
            assert 0.0 <= metrics[name] <= 1.0


def test_report_is_self_contained(pipeline_run):
    _, summary = pipeline_run
    assert summary["reports"], "no report written"
    for report in summary["reports"]:
        html = Path(report).read_text(encoding="utf-8")
        assert "http://" not in html
        assert "https://" not in html
        assert "<svg" in html


def test_no_clear_address_in_silver_or_gold(pipeline_run):
    import sqlite3

    import pyarrow as pa
    from deltalake import DeltaTable

    root, _ = pipeline_run
    with sqlite3.connect(root / "var" / "agencies" / "houston_police.sqlite") as connection:
        clear = {row[0] for row in connection.execute(
            "select address from offenses where address is not null limit 200"
        )}
    assert len(clear) > 50
    for layer in ("silver", "gold"):
        for log_dir in (root / "var" / "lake" / layer).glob("*/_delta_log"):
            table = DeltaTable(str(log_dir.parent)).to_pyarrow_table()
            for name in table.column_names:
                if pa.types.is_string(table.schema.field(name).type):
                    values = set(table[name].drop_null().to_pylist())
                    assert not values & clear, f"{layer}/{log_dir.parent.name}.{name}"
