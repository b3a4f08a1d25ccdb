"""Feature and panel transforms on literal panels, with hand-computed expectations."""

from __future__ import annotations

import datetime as dt

import h3
import pytest

from models.features import (
    FEATURE_COLUMNS,
    FeatureSettings,
    build_features,
    feature_columns,
    holiday_counts,
    period_end,
)
from models.panel import (
    PanelError,
    WeekRange,
    build_panel,
    complete_week_range,
    source_week_range,
)
from models.targets import load_targets

pytestmark = pytest.mark.spark

# A Houston cell, one of its direct neighbours and a cell two steps away.
CELL_A = h3.latlng_to_cell(29.76, -95.37, 8)
CELL_B = sorted(h3.grid_ring(CELL_A, 1))[0]
CELL_C = sorted(c for c in h3.grid_ring(CELL_A, 2) if h3.grid_distance(CELL_B, c) == 1)[0]
FIRST_MONDAY = dt.date(2010, 1, 4)
N_WEEKS = 10
COUNTS_A = [1, 0, 3, 2, 4, 0, 1, 5, 2, 3]


def make_panel(spark, counts_a=COUNTS_A):
    rows = []
    for week in range(N_WEEKS):
        start = FIRST_MONDAY + dt.timedelta(weeks=week)
        rows.append((CELL_A, start, week, float(counts_a[week])))
        rows.append((CELL_B, start, week, 2.0))
        rows.append((CELL_C, start, week, 5.0))
    return spark.createDataFrame(
        rows, "h3_cell string, week_start date, week_index int, count double"
    )


def features_by_key(df):
    return {(row["h3_cell"], row["week_index"]): row.asDict() for row in df.collect()}


@pytest.fixture(scope="module")
def feature_rows(spark):
    return features_by_key(build_features(make_panel(spark), country="US"))


def test_complete_week_range_drops_partial_weeks():
    # 2010-01-01 is a Friday and 2010-08-31 a Tuesday.
    weeks = complete_week_range(dt.date(2010, 1, 1), dt.date(2010, 8, 31))
    assert weeks.first_week == dt.date(2010, 1, 4)
    assert weeks.last_week == dt.date(2010, 8, 23)
    assert weeks.n_weeks == 34


def test_complete_week_range_keeps_full_edge_weeks():
    weeks = complete_week_range(dt.date(2010, 1, 4), dt.date(2010, 1, 17))
    assert weeks.first_week == dt.date(2010, 1, 4)
    assert weeks.last_week == dt.date(2010, 1, 11)


def test_complete_week_range_without_full_week():
    with pytest.raises(PanelError, match="no complete"):
        complete_week_range(dt.date(2010, 1, 5), dt.date(2010, 1, 11))


def test_build_panel_zero_fills(spark):
    incidents = spark.createDataFrame(
        [
            (CELL_A, dt.date(2010, 1, 3)),  # Sunday of the partial first week
            (CELL_A, dt.date(2010, 1, 4)),
            (CELL_A, dt.date(2010, 1, 10)),
            (CELL_B, dt.date(2010, 1, 13)),
            (CELL_B, dt.date(2010, 1, 18)),  # Monday of the partial last week
        ],
        "h3_cell string, local_date date",
    )
    weeks = WeekRange(dt.date(2010, 1, 4), dt.date(2010, 1, 11))
    rows = build_panel(incidents, weeks, horizon=1).collect()
    counts = {(row["h3_cell"], row["week_index"]): row["count"] for row in rows}
    # Two cells x (2 complete weeks + 1 forecast week).
    assert len(rows) == 6
    assert counts[(CELL_A, 0)] == 2.0
    assert counts[(CELL_A, 1)] == 0.0
    assert counts[(CELL_B, 0)] == 0.0
    assert counts[(CELL_B, 1)] == 1.0
    assert counts[(CELL_A, 2)] is None
    assert counts[(CELL_B, 2)] is None


def test_temporal_features_hand_computed(feature_rows):
    week5 = feature_rows[(CELL_A, 5)]
    # Counts of A before week 5: 1, 0, 3, 2, 4.
    assert week5["lag_1"] == 4.0
    assert week5["lag_2"] == 2.0
    assert week5["lag_3"] == 3.0
    assert week5["lag_4"] == 0.0
    assert week5["mean_4"] == pytest.approx((0 + 3 + 2 + 4) / 4)
    assert week5["mean_8"] == pytest.approx(10 / 5)
    assert week5["mean_all"] == pytest.approx(10 / 5)
    # alpha 0.8 from 1: 0.2, then 2.44, then 2.088, then 3.6176.
    assert week5["ewm_0_8"] == pytest.approx(3.6176)
    # alpha 0.9 from 1: 0.1, then 2.71, then 2.071, then 3.8071.
    assert week5["ewm_0_9"] == pytest.approx(3.8071)


def test_first_weeks_have_missing_history(feature_rows):
    week0 = feature_rows[(CELL_A, 0)]
    for name in ["lag_1", "mean_4", "mean_all", "ewm_0_8", "ring1_lag_1", "ring2_mean_4"]:
        assert week0[name] is None, name
    week1 = feature_rows[(CELL_A, 1)]
    assert week1["lag_1"] == 1.0
    assert week1["lag_2"] is None
    assert week1["mean_8"] == 1.0
    assert week1["ewm_0_8"] == 1.0


def test_neighbour_ring_sums(feature_rows):
    week5 = feature_rows[(CELL_A, 5)]
    # B (count 2 every week) is at distance 1 from A, C (count 5) at distance 2.
    assert week5["ring1_lag_1"] == 2.0
    assert week5["ring2_lag_1"] == 7.0
    assert week5["ring2_mean_4"] == pytest.approx(7.0)
    # B's neighbours within 1 are A and C: A's lag_1 at week 5 is 4.
    assert feature_rows[(CELL_B, 5)]["ring1_lag_1"] == 4.0 + 5.0


def test_calendar_features(feature_rows):
    # Week 5 starts on Monday 2010-02-08: ISO week 6, February.
    assert feature_rows[(CELL_A, 5)]["week_of_year"] == 6
    assert feature_rows[(CELL_A, 5)]["month"] == 2


def test_near_repeat_hand_computed(feature_rows):
    # A's counts of weeks 4 and 3: lag_1 4 and lag_2 2, so 4 + 2 / 2.
    assert feature_rows[(CELL_A, 5)]["near_repeat"] == 5.0
    # Week 1 has no lag_2, which counts as 0.
    assert feature_rows[(CELL_A, 1)]["near_repeat"] == 1.0
    assert feature_rows[(CELL_A, 0)]["near_repeat"] is None
    # B (2 + 2 / 2) is A's only ring-1 neighbour, C (5 + 5 / 2) is at distance 2.
    assert feature_rows[(CELL_A, 5)]["ring1_near_repeat"] == 3.0
    assert feature_rows[(CELL_A, 5)]["ring2_near_repeat"] == 10.5


def test_trend_hand_computed(feature_rows):
    week5 = feature_rows[(CELL_A, 5)]
    # Weeks 0-4 with counts 1, 0, 3, 2, 4: covariance 8 / 5 over variance 2.
    assert week5["trend_slope_8"] == pytest.approx(0.8)
    # (mean_4 + 1) / (mean_all + 1) = (9 / 4 + 1) / (2 + 1).
    assert week5["trend_ratio"] == pytest.approx(3.25 / 3)
    # Weeks 1-8 (the last 8) with counts 0, 3, 2, 4, 0, 1, 5, 2: 8.5 / 42.
    assert feature_rows[(CELL_A, 9)]["trend_slope_8"] == pytest.approx(8.5 / 42)
    # B's counts never change.
    assert feature_rows[(CELL_B, 9)]["trend_slope_8"] == 0.0
    assert feature_rows[(CELL_B, 9)]["trend_ratio"] == 1.0
    # One earlier week gives no slope.
    assert feature_rows[(CELL_A, 1)]["trend_slope_8"] is None
    assert feature_rows[(CELL_A, 0)]["trend_ratio"] is None


def test_holiday_feature_of_week(feature_rows):
    # Martin Luther King Jr. Day, Monday 2010-01-18, is in week 2, and Washington's Birthday,
    # Monday 2010-02-15, in week 6. Weeks 0 (from 2010-01-04) and 5 have none.
    assert feature_rows[(CELL_A, 2)]["holidays_in_period"] == 1.0
    assert feature_rows[(CELL_C, 6)]["holidays_in_period"] == 1.0
    assert feature_rows[(CELL_A, 0)]["holidays_in_period"] == 0.0
    assert feature_rows[(CELL_A, 5)]["holidays_in_period"] == 0.0


def test_holiday_counts_of_subdivision():
    christmas_week = dt.date(2015, 12, 21)
    st_andrews_week = dt.date(2015, 11, 30)  # Saint Andrew's Day is Monday 30 November
    scotland = holiday_counts([christmas_week, st_andrews_week], "GB", "SCT")
    assert scotland[christmas_week] == 2
    assert scotland[st_andrews_week] == 1
    assert holiday_counts([st_andrews_week], "GB", "ENG")[st_andrews_week] == 0


def test_holiday_counts_of_months_and_days():
    january, december = dt.date(2010, 1, 1), dt.date(2010, 12, 1)
    # January has New Year's Day and Martin Luther King Jr. Day. December has Christmas Day
    # (Saturday 25), its observed day (Friday 24) and New Year's Day 2011 observed on Friday 31.
    months = holiday_counts([january, december], "US", period="month")
    assert months[january] == 2
    assert months[december] == 3
    assert period_end(december, "month") == dt.date(2011, 1, 1)
    days = holiday_counts([dt.date(2010, 7, 5), dt.date(2010, 7, 6)], "US", period="day")
    assert days == {dt.date(2010, 7, 5): 1, dt.date(2010, 7, 6): 0}


def test_holiday_counts_unknown_country():
    with pytest.raises(ValueError, match="'XX'"):
        holiday_counts([dt.date(2010, 1, 4)], "XX")


def test_columns_follow_settings(spark):
    settings = FeatureSettings(
        rolling_weeks=[4, 8, 16], max_ring=3, near_repeat=False, trend=False, holidays=False
    )
    columns = feature_columns(settings, country="US")
    assert "mean_16" in columns
    assert "ring3_mean_all" in columns
    assert "near_repeat" not in columns
    assert "trend_ratio" not in columns
    assert "holidays_in_period" not in columns
    # Without a country there is no holiday feature even when it is on.
    assert "holidays_in_period" not in feature_columns(FeatureSettings())
    built = build_features(make_panel(spark), settings, country="US")
    assert set(columns) <= set(built.columns)
    row = features_by_key(built)[(CELL_A, 5)]
    # C (count 5 every week) is within ring 3 and ring 2 of A, B (2) within ring 1.
    assert row["ring3_lag_1"] == 7.0


LEAKAGE_SETTINGS = {
    "default": FeatureSettings(),
    "long_windows_ring3": FeatureSettings(rolling_weeks=[4, 8, 16], max_ring=3),
}


@pytest.mark.parametrize("variant", sorted(LEAKAGE_SETTINGS))
def test_features_do_not_leak_current_week(spark, variant):
    settings = LEAKAGE_SETTINGS[variant]
    columns = feature_columns(settings, country="US")
    changed_week = 5
    changed = list(COUNTS_A)
    changed[changed_week] += 40
    before = features_by_key(build_features(make_panel(spark), settings, country="US"))
    after = features_by_key(
        build_features(make_panel(spark, counts_a=changed), settings, country="US")
    )

    for (cell, week), row in before.items():
        if week <= changed_week:
            for name in columns:
                assert after[(cell, week)][name] == row[name], (cell, week, name)
    # The change must reach the next week's features, so the check above can fail.
    assert (
        after[(CELL_A, changed_week + 1)]["lag_1"]
        == before[(CELL_A, changed_week + 1)]["lag_1"] + 40
    )
    assert (
        after[(CELL_B, changed_week + 1)]["ring1_lag_1"]
        == before[(CELL_B, changed_week + 1)]["ring1_lag_1"] + 40
    )
    next_a = (CELL_A, changed_week + 1)
    for name in ["near_repeat", "trend_slope_8", "trend_ratio", "mean_all"]:
        assert after[next_a][name] > before[next_a][name], name
    assert (
        after[(CELL_B, changed_week + 1)]["ring1_near_repeat"]
        == before[(CELL_B, changed_week + 1)]["ring1_near_repeat"] + 40
    )
    # Every feature of the default set is checked above.
    assert set(FEATURE_COLUMNS) <= set(columns)


def make_silver(spark, offense="theft", timezone="America/Chicago"):
    rows = [(dt.date(2010, 1, 1) + dt.timedelta(days=day), offense, timezone) for day in range(30)]
    return spark.createDataFrame(rows, "local_date date, offense string, timezone string")


def test_source_week_range_checks_offences(spark):
    target = load_targets()["houston_burglary"]
    with pytest.raises(PanelError, match=r"\['burglary'\]"):
        source_week_range(make_silver(spark, offense="theft"), target)
    weeks = source_week_range(make_silver(spark, offense="burglary"), target)
    # 2010-01-01 (Friday) to 2010-01-30 (Saturday): complete weeks of Jan 4, 11 and 18.
    assert weeks.first_week == dt.date(2010, 1, 4)
    assert weeks.n_weeks == 3


def test_source_week_range_checks_timezone(spark):
    target = load_targets()["houston_burglary"]
    with pytest.raises(PanelError, match="Europe/London"):
        source_week_range(make_silver(spark, "burglary", "Europe/London"), target)
