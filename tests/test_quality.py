"""Great Expectations quality gate: suites kept in the repo, failures named, forecast stopped."""

import json
import sqlite3
from datetime import UTC, date, datetime

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from jobs.quality import QualityGateError, generate_suite, load_suite, suite_path, validate_source
from jobs.schemas import SILVER_INCIDENT_COMMON
from jobs.sources import load_catalogue


def test_kept_suites_match_the_catalogue():
    for source in load_catalogue().sources.values():
        assert suite_path(source).exists(), f"run boljam validate --write-suites ({source.name})"
        assert load_suite(source) == generate_suite(source), source.name


def silver_frame(lat_values):
    rows = []
    for number, lat in enumerate(lat_values, start=1):
        rows.append(
            {
                "incident_id": str(number),
                "source": "houston_crime",
                "city": "houston",
                "occurred_at_utc": datetime(2010, 3, 1, 12, tzinfo=UTC),
                "occurred_at_local": datetime(2010, 3, 1, 6),
                "local_date": date(2010, 3, 1),
                "timezone": "America/Chicago",
                "time_precision": "hour",
                "offense": "theft",
                "category": "property",
                "lat": lat,
                "lon": -95.4,
                "h3_r7": "8744",
                "h3_r8": "8844",
                "h3_r9": "8944",
                "quality_flags": "",
                "_batch_id": "b",
                "_loaded_at": datetime(2026, 1, 1, tzinfo=UTC),
                "_row_hash": f"h{number}",
            }
        )
    return pa.Table.from_pandas(
        pd.DataFrame(rows), schema=SILVER_INCIDENT_COMMON, preserve_index=False
    )


def test_clean_table_passes(tmp_profile):
    write_deltalake(
        str(tmp_profile.table_path("silver", "houston_crime")), silver_frame([29.7, 29.8])
    )
    result = validate_source("houston_crime")
    assert result.success
    assert result.evaluated == len(
        generate_suite(load_catalogue().sources["houston_crime"])["expectations"]
    )
    assert result.data_docs and result.data_docs.endswith("index.html")


def test_failure_names_expectation_and_rows(tmp_profile):
    write_deltalake(
        str(tmp_profile.table_path("silver", "houston_crime")), silver_frame([29.7, 55.5])
    )
    with pytest.raises(QualityGateError) as caught:
        validate_source("houston_crime")
    message = str(caught.value)
    assert "expect_column_values_to_be_between" in message
    failed = json.loads(message.split("expectations: ", 1)[1])
    assert failed[0]["column"] == "lat"
    assert failed[0]["unexpected_count"] == 1
    assert failed[0]["sample"] == ["55.5"]


@pytest.mark.integration
@pytest.mark.slow
def test_failed_gate_stops_the_forecasts(tmp_profile):
    from jobs.airflow_env import AirflowRunError, airflow_env, migrate, test_dag

    write_deltalake(
        str(tmp_profile.table_path("silver", "houston_crime")), silver_frame([29.7, 55.5])
    )
    env = airflow_env(tmp_profile)
    migrate(env)
    log = tmp_profile.var / "forecast-dag.log"
    with pytest.raises(AirflowRunError):
        test_dag("boljam_forecast", "2026-01-05T00:00:00+00:00", env, log)
    with sqlite3.connect(tmp_profile.var / "airflow" / "airflow.db") as connection:
        states = dict(
            connection.execute(
                "select task_id, state from task_instance where dag_id = 'boljam_forecast'"
            ).fetchall()
        )
    assert states["check_quality_houston_crime"] == "failed"
    forecasts = {task: state for task, state in states.items() if task.startswith("forecast_")}
    assert forecasts, states
    assert set(forecasts.values()) == {"upstream_failed"}
