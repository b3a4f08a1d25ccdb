"""Daily, weekly and monthly periods, H3 and region units: arithmetic, panels and two runs.

The period arithmetic is checked against dates computed by hand from a calendar. The two
forecast runs use small generated silver tables: a daily target by region with one hot
region, and a monthly target by resolution-7 cell with one hot cell.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import h3
import numpy as np
import pytest
from conftest import forecast_job_profile

from jobs.settings import ConfigError
from models.panel import (
    PanelError,
    PeriodRange,
    add_periods,
    build_panel,
    complete_period_range,
    select_target_coordinates,
)
from models.targets import load_targets

# -- period arithmetic ------------------------------------------------------------------


def test_complete_days_keep_both_edges():
    periods = complete_period_range(dt.date(2024, 2, 27), dt.date(2024, 3, 2), "day")
    assert periods.first_start == dt.date(2024, 2, 27)
    assert periods.last_start == dt.date(2024, 3, 2)
    # 27, 28, 29 February (a leap year) and 1, 2 March.
    assert periods.n_periods == 5
    assert periods.end(4) == dt.date(2024, 3, 2)


def test_complete_months_drop_partial_edges():
    # 2010-01-02 misses 1 January and 2013-06-29 misses 30 June.
    periods = complete_period_range(dt.date(2010, 1, 2), dt.date(2013, 6, 29), "month")
    assert periods.first_start == dt.date(2010, 2, 1)
    assert periods.last_start == dt.date(2013, 5, 1)
    # February to December 2010 (11), 2011 and 2012 (24), January to May 2013 (5).
    assert periods.n_periods == 40
    assert periods.end(0) == dt.date(2010, 2, 28)
    # Period 24 is February 2012, a leap month.
    assert periods.start(24) == dt.date(2012, 2, 1)
    assert periods.end(24) == dt.date(2012, 2, 29)


def test_complete_months_keep_full_edges():
    periods = complete_period_range(dt.date(2010, 1, 1), dt.date(2010, 12, 31), "month")
    assert periods.first_start == dt.date(2010, 1, 1)
    assert periods.last_start == dt.date(2010, 12, 1)
    assert periods.n_periods == 12


def test_complete_weeks_match_week_logic():
    # 2010-01-01 is a Friday and 2010-08-31 a Tuesday.
    periods = complete_period_range(dt.date(2010, 1, 1), dt.date(2010, 8, 31), "week")
    assert periods.first_start == dt.date(2010, 1, 4)
    assert periods.last_start == dt.date(2010, 8, 23)
    assert periods.n_periods == 34
    assert periods.end(0) == dt.date(2010, 1, 10)


def test_month_arithmetic_crosses_years():
    assert add_periods(dt.date(2010, 11, 1), "month", 3) == dt.date(2011, 2, 1)
    assert add_periods(dt.date(2011, 1, 1), "month", -1) == dt.date(2010, 12, 1)
    assert add_periods(dt.date(2024, 12, 31), "day", 1) == dt.date(2025, 1, 1)


def test_no_complete_month_raises():
    with pytest.raises(PanelError, match="no complete month"):
        complete_period_range(dt.date(2010, 1, 2), dt.date(2010, 2, 27), "month")


# -- target validation ------------------------------------------------------------------

TARGET_BASE = (
    "defaults:\n  horizon: 1\n  study_area: cells_with_incidents\n"
    "  hotspot_fractions: [0.1]\n  interval_level: 0.8\n  seed: 1\n"
    "targets:\n  fraud:\n    source_table: kz_crime_cases\n    timezone: Asia/Almaty\n"
    "    offenses: [fraud]\n"
)


def load_target_text(tmp_path, body: str):
    path = tmp_path / "forecasts.yml"
    path.write_text(TARGET_BASE + body, encoding="utf-8")
    return load_targets(path)


def test_region_target_loads(tmp_path):
    target = load_target_text(
        tmp_path,
        "    period: day\n    unit: region\n    region_column: region_code\n"
        "    evaluation_periods: 14\n    min_history_periods: 28\n",
    )["fraud"]
    assert target.unit == "region"
    assert target.region_column == "region_code"
    assert target.h3_resolution is None
    assert target.evaluation_periods == 14
    assert target.tuning_periods == 4


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "    period: day\n    unit: region\n"
            "    evaluation_periods: 14\n    min_history_periods: 28\n",
            "unit region needs region_column",
        ),
        (
            "    period: day\n    h3_resolution: 6\n    region_column: region_code\n"
            "    evaluation_periods: 14\n    min_history_periods: 28\n",
            "region_column is set but unit is h3",
        ),
        (
            "    period: month\n    evaluation_periods: 4\n    min_history_periods: 2\n",
            "unit h3 needs h3_resolution",
        ),
        (
            "    period: day\n    h3_resolution: 6\n"
            "    evaluation_weeks: 14\n    min_history_periods: 28\n",
            "evaluation_weeks counts weeks but the period is 'day', so use evaluation_periods",
        ),
        (
            "    period: week\n    h3_resolution: 6\n    evaluation_weeks: 8\n"
            "    evaluation_periods: 8\n    min_history_periods: 4\n",
            "set evaluation_periods or evaluation_weeks, not both",
        ),
        (
            "    period: quarter\n    h3_resolution: 6\n"
            "    evaluation_periods: 4\n    min_history_periods: 4\n",
            "field period",
        ),
    ],
)
def test_invalid_unit_or_period_is_rejected(tmp_path, body, message):
    with pytest.raises(ConfigError) as caught:
        load_target_text(tmp_path, body)
    assert "target fraud" in str(caught.value)
    assert message in str(caught.value)


def test_weekly_names_still_load(tmp_path):
    target = load_target_text(
        tmp_path,
        "    period: week\n    h3_resolution: 6\n    evaluation_weeks: 8\n"
        "    min_history_weeks: 4\n    tuning_weeks: 2\n",
    )["fraud"]
    assert (target.evaluation_periods, target.min_history_periods) == (8, 4)
    assert target.tuning_periods == 2


# -- panels -----------------------------------------------------------------------------


@pytest.mark.spark
def test_monthly_panel_counts(spark):
    incidents = spark.createDataFrame(
        [
            ("c1", dt.date(2010, 1, 31)),  # partial January, left out of the counts
            ("c1", dt.date(2010, 2, 1)),
            ("c1", dt.date(2010, 2, 28)),
            ("c2", dt.date(2010, 3, 15)),
            ("c2", dt.date(2010, 3, 31)),
            ("c2", dt.date(2010, 4, 2)),  # partial April
        ],
        "h3_cell string, local_date date",
    )
    months = PeriodRange("month", dt.date(2010, 2, 1), dt.date(2010, 3, 1))
    rows = build_panel(incidents, months, horizon=1).collect()
    counts = {(row["h3_cell"], row["week_index"]): row["count"] for row in rows}
    starts = {row["week_index"]: row["week_start"] for row in rows}
    assert len(rows) == 6
    assert counts[("c1", 0)] == 2.0
    assert counts[("c1", 1)] == 0.0
    assert counts[("c2", 0)] == 0.0
    assert counts[("c2", 1)] == 2.0
    assert counts[("c1", 2)] is None
    assert starts == {0: dt.date(2010, 2, 1), 1: dt.date(2010, 3, 1), 2: dt.date(2010, 4, 1)}


@pytest.mark.spark
def test_daily_panel_counts(spark):
    incidents = spark.createDataFrame(
        [
            ("ALA", dt.date(2024, 2, 28)),
            ("ALA", dt.date(2024, 2, 28)),
            ("AST", dt.date(2024, 3, 1)),
        ],
        "h3_cell string, local_date date",
    )
    days = PeriodRange("day", dt.date(2024, 2, 28), dt.date(2024, 3, 1))
    rows = build_panel(incidents, days, horizon=1).collect()
    counts = {(row["h3_cell"], row["week_start"]): row["count"] for row in rows}
    assert len(rows) == 8
    assert counts[("ALA", dt.date(2024, 2, 28))] == 2.0
    assert counts[("ALA", dt.date(2024, 2, 29))] == 0.0
    assert counts[("AST", dt.date(2024, 3, 1))] == 1.0
    assert counts[("AST", dt.date(2024, 3, 2))] is None


@pytest.mark.spark
def test_training_window_keeps_last_periods(spark):
    from models.backtest import fold_rows

    # One cell over periods 0-9; folds evaluate periods 8 and 9.
    features = spark.createDataFrame(
        [("c1", index, float(index)) for index in range(10)],
        "h3_cell string, week_index int, count double",
    )
    folds = spark.createDataFrame([(1, 8), (2, 9)], "fold int, eval_week_index int")

    def periods_of(window):
        grouped: dict[tuple[int, str], list[int]] = {}
        for row in fold_rows(features, folds, 2, window).collect():
            grouped.setdefault((row["fold"], row["role"]), []).append(row["week_index"])
        return {key: sorted(value) for key, value in grouped.items()}

    everything = periods_of(None)
    assert everything[(1, "train")] == [2, 3, 4, 5, 6, 7]
    assert everything[(2, "train")] == [2, 3, 4, 5, 6, 7, 8]
    windowed = periods_of(3)
    assert windowed[(1, "train")] == [5, 6, 7]
    assert windowed[(2, "train")] == [6, 7, 8]
    assert windowed[(1, "test")] == [8]
    assert windowed[(2, "test")] == [9]
    # A window longer than the history starts at min_history_weeks.
    assert periods_of(50)[(1, "train")] == [2, 3, 4, 5, 6, 7]


@pytest.mark.spark
def test_monthly_coordinates_get_month_index(spark):
    silver = spark.createDataFrame(
        [
            (55.95, -3.19, dt.date(2010, 1, 31), "slight"),
            (55.95, -3.19, dt.date(2010, 2, 14), "slight"),
            (55.95, -3.19, dt.date(2010, 12, 31), "serious"),
            (55.95, -3.19, dt.date(2011, 1, 1), "slight"),
        ],
        "lat double, lon double, local_date date, offense string",
    )
    target = load_targets()["edinburgh_road_accidents"]
    months = PeriodRange("month", dt.date(2010, 2, 1), dt.date(2010, 12, 1))
    rows = select_target_coordinates(silver, target, months).collect()
    # January 2010 is before the first complete month, January 2011 after the last one.
    assert sorted(row["week_index"] for row in rows) == [0, 10]


@pytest.mark.spark
def test_daily_region_features_do_not_leak(spark):
    from models.features import build_features, feature_columns

    def panel(counts):
        rows = [
            (region, dt.date(2024, 1, 1) + dt.timedelta(days=day), day, float(value))
            for region, series in counts.items()
            for day, value in enumerate(series)
        ]
        return spark.createDataFrame(
            rows, "h3_cell string, week_start date, week_index int, count double"
        )

    counts = {"ALA": [1, 0, 3, 2, 4, 0, 1, 5, 2, 3], "AST": [2] * 10}
    changed_day = 5
    changed = {"ALA": list(counts["ALA"]), "AST": counts["AST"]}
    changed["ALA"][changed_day] += 40

    def features(series):
        frame = build_features(panel(series), country="KZ", period="day", unit="region")
        return {(row["h3_cell"], row["week_index"]): row.asDict() for row in frame.collect()}

    before = features(counts)
    after = features(changed)
    columns = feature_columns(country="KZ")
    for (region, day), row in before.items():
        if day <= changed_day:
            for name in columns:
                assert after[(region, day)][name] == row[name], (region, day, name)
    # The change reaches the next day's lag, so the loop above can fail.
    assert (
        after[("ALA", changed_day + 1)]["lag_1"] == before[("ALA", changed_day + 1)]["lag_1"] + 40
    )
    # Regions have no H3 neighbours: ring sums are zero once the base feature has a value.
    assert before[("ALA", 3)]["ring1_lag_1"] == 0.0


# -- forecast runs ----------------------------------------------------------------------

REGIONS = ("ALA", "AST", "KAR", "SHY")
HOT_REGION = "ALA"
# Monday 2024-01-01 to Sunday 2024-03-31: 91 complete days, the forecast is for 1 April.
DAILY_FIRST = dt.date(2024, 1, 1)
DAILY_LAST = dt.date(2024, 3, 31)
EDINBURGH = h3.latlng_to_cell(55.95, -3.19, 7)
MONTH_CELLS = [EDINBURGH, *sorted(h3.grid_ring(EDINBURGH, 1))]
# Saturday 2010-01-02 to Thursday 2011-09-29: complete months February 2010 to August 2011
# (19 months), the forecast is for September 2011.
MONTHLY_FIRST = dt.date(2010, 1, 2)
MONTHLY_LAST = dt.date(2011, 9, 29)

TARGETS_YAML = """
defaults:
  horizon: 1
  study_area: cells_with_incidents
  interval_level: 0.8
  seed: 7
  lightgbm: {num_boost_round: 20, min_data_in_leaf: 5}
targets:
  fraud_by_region:
    source_table: kz_crime_cases
    timezone: Asia/Almaty
    country: KZ
    offenses: [fraud]
    period: day
    unit: region
    region_column: region_code
    evaluation_periods: 5
    tuning_periods: 3
    min_history_periods: 14
    hotspot_fractions: [0.25, 0.5]
    champion_fraction: 0.25
    aggregate_model: prophet
  accidents_monthly:
    source_table: edinburgh_accidents
    timezone: Europe/London
    offenses: all
    period: month
    h3_resolution: 7
    evaluation_periods: 3
    tuning_periods: 2
    min_history_periods: 4
    hotspot_fractions: [0.15, 0.5]
    champion_fraction: 0.15
    aggregate_model: none
"""


def silver_row(key, source, local, timezone, offense, lat, lon):
    cell = h3.latlng_to_cell(lat, lon, 8)
    return {
        "incident_id": hashlib.sha1(key.encode()).hexdigest(),
        "source": source,
        "city": source,
        "occurred_at_utc": local.replace(tzinfo=dt.UTC),
        "occurred_at_local": local,
        "local_date": local.date(),
        "timezone": timezone,
        "time_precision": "hour",
        "offense": offense,
        "category": offense,
        "lat": lat,
        "lon": lon,
        "h3_r7": h3.cell_to_parent(cell, 7),
        "h3_r8": cell,
        "h3_r9": h3.cell_to_center_child(cell, 9),
        "quality_flags": "",
        "_batch_id": "fixture",
        "_loaded_at": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        "_row_hash": key,
    }


def fraud_rows(seed: int = 3) -> list[dict]:
    """About 6 fraud cases a day in the hot region and 1 in each other, plus some thefts."""
    rng = np.random.default_rng(seed)
    rows = []
    day = DAILY_FIRST
    while day <= DAILY_LAST:
        for index, region in enumerate(REGIONS):
            rate = 6.0 if region == HOT_REGION else 1.0
            for offense, count in (("fraud", rng.poisson(rate)), ("theft", rng.poisson(0.5))):
                for _ in range(count):
                    local = dt.datetime.combine(day, dt.time(int(rng.integers(0, 24))))
                    key = f"{region}-{local.isoformat()}-{len(rows)}"
                    row = silver_row(
                        key, "kz_crime_cases", local, "Asia/Almaty", offense, 43.0 + index, 76.9
                    )
                    rows.append(row | {"region_code": region})
        day += dt.timedelta(days=1)
    return rows


def accident_rows(seed: int = 5) -> list[dict]:
    """About 8 accidents a month in the hot cell and 1 in each of its six neighbours."""
    rng = np.random.default_rng(seed)
    rows = []
    day = MONTHLY_FIRST
    while day <= MONTHLY_LAST:
        for cell in MONTH_CELLS:
            rate = 8.0 / 30 if cell == EDINBURGH else 1.0 / 30
            for _ in range(rng.poisson(rate)):
                lat, lon = h3.cell_to_latlng(cell)
                local = dt.datetime.combine(day, dt.time(int(rng.integers(0, 24))))
                key = f"{cell}-{local.isoformat()}-{len(rows)}"
                rows.append(
                    silver_row(
                        key, "edinburgh_accidents", local, "Europe/London", "slight", lat, lon
                    )
                )
        day += dt.timedelta(days=1)
    return rows


@pytest.fixture(scope="module")
def period_profile(tmp_path_factory):
    import pyarrow as pa
    from deltalake import write_deltalake

    from jobs.schemas import SILVER_INCIDENT_COMMON

    root = tmp_path_factory.mktemp("forecast_periods")
    profile = forecast_job_profile(root)
    with_region = SILVER_INCIDENT_COMMON.append(pa.field("region_code", pa.string()))
    write_deltalake(
        str(profile.table_path("silver", "kz_crime_cases")),
        pa.Table.from_pylist(fraud_rows(), schema=with_region),
    )
    write_deltalake(
        str(profile.table_path("silver", "edinburgh_accidents")),
        pa.Table.from_pylist(accident_rows(), schema=SILVER_INCIDENT_COMMON),
    )
    targets = root / "forecasts.yml"
    targets.write_text(TARGETS_YAML, encoding="utf-8")
    return profile, targets


@pytest.fixture(scope="module")
def region_run(spark, period_profile):
    from jobs.forecast import run_forecast

    profile, targets = period_profile
    return run_forecast("fraud_by_region", profile=profile, targets_file=targets)


@pytest.fixture(scope="module")
def monthly_run(spark, period_profile, region_run):
    from jobs.forecast import run_forecast

    profile, targets = period_profile
    return run_forecast("accidents_monthly", profile=profile, targets_file=targets)


def gold_rows(profile, table: str, target: str):
    from deltalake import DeltaTable

    frame = DeltaTable(str(profile.table_path("gold", table))).to_pandas()
    return frame[frame["target"] == target]


@pytest.mark.spark
@pytest.mark.integration
@pytest.mark.slow
def test_daily_region_forecast_rows(region_run, period_profile):
    profile, _ = period_profile
    forecasts = gold_rows(profile, "forecasts", "fraud_by_region")
    assert region_run["n_periods"] == 91
    assert region_run["forecast_period_start"] == "2024-04-01"
    assert len(forecasts) == len(REGIONS)
    assert set(forecasts["area_id"]) == set(REGIONS)
    assert set(forecasts["unit"]) == {"region"}
    assert set(forecasts["period"]) == {"day"}
    assert forecasts["h3_cell"].isna().all()
    assert set(forecasts["period_start"]) == {dt.date(2024, 4, 1)}
    top = forecasts.sort_values("risk_rank").iloc[0]
    assert top["area_id"] == HOT_REGION
    assert top["lower"] <= top["predicted"] <= top["upper"]


@pytest.mark.spark
@pytest.mark.integration
@pytest.mark.slow
def test_daily_region_backtest_skips_coordinates(region_run, period_profile):
    from mlflow.tracking import MlflowClient

    profile, _ = period_profile
    backtests = gold_rows(profile, "backtests", "fraud_by_region")
    pei = backtests[backtests["metric"] == "pei_star_25pct"]
    assert sorted(pei["fold"].unique()) == [1, 2, 3, 4, 5]
    # Fold 5 evaluates the last complete day, fold 1 the day four days before it.
    assert set(pei[pei["fold"] == 5]["period_start"]) == {dt.date(2024, 3, 31)}
    assert set(pei[pei["fold"] == 1]["period_start"]) == {dt.date(2024, 3, 27)}
    assert "baseline_kde" not in set(backtests["method"])
    assert "baseline_prospective_hotspot" not in set(backtests["method"])
    assert not backtests["metric"].str.startswith("pai_").any()
    assert "prophet_total" in set(backtests["method"])
    params = (
        MlflowClient(tracking_uri=profile.mlflow_tracking_uri)
        .get_run(region_run["run_id"])
        .data.params
    )
    assert params["coordinate_baselines"].startswith("skipped")
    assert params["unit"] == "region"
    assert params["period"] == "day"
    assert params["n_periods"] == "91"
    # A region with six times the others' rate is the best single region on most days.
    assert region_run["metrics"]["model_pei_star_25pct"] > 0.7


@pytest.mark.spark
@pytest.mark.integration
@pytest.mark.slow
def test_monthly_h3_forecast_rows(monthly_run, period_profile):
    profile, _ = period_profile
    forecasts = gold_rows(profile, "forecasts", "accidents_monthly")
    backtests = gold_rows(profile, "backtests", "accidents_monthly")
    assert monthly_run["n_periods"] == 19
    assert monthly_run["forecast_period_start"] == "2011-09-01"
    assert set(forecasts["period"]) == {"month"}
    assert set(forecasts["unit"]) == {"h3"}
    assert (forecasts["area_id"] == forecasts["h3_cell"]).all()
    assert set(forecasts["h3_cell"]) <= set(MONTH_CELLS)
    assert set(forecasts["period_start"]) == {dt.date(2011, 9, 1)}
    assert forecasts.sort_values("risk_rank").iloc[0]["h3_cell"] == EDINBURGH
    pei = backtests[backtests["metric"] == "pei_star_15pct"]
    # Folds 1 to 3 evaluate June, July and August 2011.
    assert sorted(pei["fold"].unique()) == [1, 2, 3]
    assert set(pei[pei["fold"] == 1]["period_start"]) == {dt.date(2011, 6, 1)}
    assert set(pei[pei["fold"] == 3]["period_start"]) == {dt.date(2011, 8, 1)}
    assert {"baseline_kde", "baseline_prospective_hotspot"} <= set(pei["method"])
    assert (backtests["metric"] == "pai_15pct").any()


def test_old_gold_forecasts_are_upgraded(tmp_path):
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    from jobs.forecast import upgrade_gold_forecasts
    from jobs.schemas import GOLD_FORECASTS

    # The gold forecasts schema before the period and unit columns existed.
    old_schema = pa.schema(
        [
            pa.field(field.name, field.type, nullable=False)
            for field in GOLD_FORECASTS
            if field.name not in ("period", "unit", "area_id")
        ]
    )
    row = {
        "target": "t1",
        "run_id": "r1",
        "model": "lightgbm",
        "period_start": dt.date(2010, 8, 30),
        "h3_cell": "8844c0a305fffff",
        "predicted": 2.0,
        "lower": 1.0,
        "upper": 3.0,
        "risk_rank": 1,
        "top_contributions": "[]",
        "created_at": dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    }
    path = tmp_path / "forecasts"
    write_deltalake(
        str(path), pa.Table.from_pylist([row], schema=old_schema), partition_by=["target"]
    )

    assert upgrade_gold_forecasts(path) is True
    table = DeltaTable(str(path))
    assert [field.name for field in table.schema().fields] == GOLD_FORECASTS.names
    assert table.metadata().partition_columns == ["target"]
    upgraded = table.to_pyarrow_table().to_pylist()
    assert len(upgraded) == 1
    assert upgraded[0]["period"] == "week"
    assert upgraded[0]["unit"] == "h3"
    assert upgraded[0]["area_id"] == "8844c0a305fffff"
    assert upgraded[0]["h3_cell"] == "8844c0a305fffff"
    assert table.version() == 1
    # A table that has the columns is left alone.
    assert upgrade_gold_forecasts(path) is False
    assert DeltaTable(str(path)).version() == 1
