"""Silver standardisation on literal bronze rows: typing, time zones and reject reasons."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from jobs.ingest.standardise import snake_case, standardise
from jobs.sources import load_catalogue

KEY = b"k" * 32
LOADED_AT = datetime(2026, 12, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def houston_row(key, **changes):
    row = {
        "offense_id": str(key),
        "time": "2010-01-01 06:00:00",
        "date": "1/1/2010",
        "hour": "0",
        "premise": "18A",
        "offense": "burglary",
        "beat": "15E30",
        "block": "9600-9699",
        "street": "marlive",
        "location": "apartment",
        "address": "9650 marlive ln",
        "lon": "-95.4373883",
        "lat": "29.6779015",
        "_row_hash": f"hash{key}",
    }
    row.update(changes)
    return row


def run(rows, source, known=None):
    frame = pd.DataFrame(rows)
    return standardise(
        frame, source, "batch-1", LOADED_AT, known_hashes=known, pseudonym_key=KEY, now=NOW
    )


def test_houston_utc_time_gives_local_midnight(catalogue):
    result = run([houston_row(1)], catalogue.sources["houston_crime"])
    row = result.silver.iloc[0]
    assert row["occurred_at_utc"] == pd.Timestamp("2010-01-01 06:00", tz="UTC")
    assert row["occurred_at_local"] == pd.Timestamp("2010-01-01 00:00")
    assert str(row["local_date"]) == "2010-01-01"
    assert row["quality_flags"] == ""
    assert row["category"] == "property"


def test_houston_hour_disagreeing_with_time_is_flagged(catalogue):
    result = run([houston_row(1, hour="5")], catalogue.sources["houston_crime"])
    assert len(result.silver) == 1
    assert result.silver.iloc[0]["quality_flags"] == "local_hour_mismatch"


def test_summer_time_offset_is_five_hours(catalogue):
    result = run([houston_row(1, time="2010-07-01 17:00:00", hour="12")],
                 catalogue.sources["houston_crime"])
    assert result.silver.iloc[0]["occurred_at_local"] == pd.Timestamp("2010-07-01 12:00")
    assert result.silver.iloc[0]["quality_flags"] == ""


def test_address_is_pseudonymised(catalogue):
    result = run([houston_row(1)], catalogue.sources["houston_crime"])
    address = result.silver.iloc[0]["address"]
    assert address.startswith("ps_")
    assert "marlive" not in address


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"lon": None}, "missing_coordinates"),
        ({"lat": "north"}, "invalid_coordinates"),
        ({"lon": "0", "lat": "0"}, "zero_coordinates"),
        ({"lon": "29.6779015", "lat": "-95.4373883"}, "swapped_coordinates"),
        ({"lon": "-80.0", "lat": "25.0"}, "out_of_area"),
        ({"time": None}, "missing_timestamp"),
        ({"time": "01/02/2010 6am"}, "invalid_timestamp"),
        ({"time": "1899-12-31 23:00:00"}, "timestamp_out_of_range"),
        ({"time": "2031-01-01 00:00:00"}, "timestamp_out_of_range"),
        ({"offense": None}, "missing_category"),
        ({"offense": "jaywalking"}, "unknown_category"),
        ({"offense_id": " "}, "missing_key"),
    ],
)
def test_bad_row_is_rejected_with_reason(catalogue, changes, reason):
    result = run([houston_row(1, **changes)], catalogue.sources["houston_crime"])
    assert len(result.silver) == 0
    assert result.rejects["reason_code"].tolist() == [reason]


def test_rejected_raw_record_hides_personal_data(catalogue):
    result = run([houston_row(1, lon=None)], catalogue.sources["houston_crime"])
    raw = result.rejects.iloc[0]["raw_record"]
    assert "9650 marlive ln" not in raw
    assert '"offense": "burglary"' in raw


def test_duplicate_content_under_new_key_is_rejected(catalogue):
    rows = [houston_row(1), houston_row(2, _row_hash="hash1")]
    result = run(rows, catalogue.sources["houston_crime"])
    assert result.silver["incident_id"].tolist() == ["1"]
    assert result.rejects["reason_code"].tolist() == ["duplicate_content"]
    assert result.rejects["record_key"].tolist() == ["2"]


def test_copy_of_row_already_in_silver_is_rejected(catalogue):
    result = run([houston_row(7, _row_hash="old")], catalogue.sources["houston_crime"],
                 known={"old": "3"})
    assert len(result.silver) == 0
    assert result.rejects["reason_code"].tolist() == ["duplicate_content"]


def test_later_row_of_same_key_wins(catalogue):
    rows = [houston_row(1, offense="theft", _row_hash="a"), houston_row(1, _row_hash="b")]
    result = run(rows, catalogue.sources["houston_crime"])
    assert result.silver["offense"].tolist() == ["burglary"]
    assert result.rejects["reason_code"].tolist() == ["duplicate_key_in_batch"]


def test_every_row_ends_in_exactly_one_output(catalogue):
    rows = [houston_row(i) for i in range(1, 6)] + [houston_row(9, lat=None)]
    result = run(rows, catalogue.sources["houston_crime"])
    assert len(result.silver) == 5
    assert len(result.rejects) == 1


def test_portland_feet_and_date_only(catalogue):
    row = {
        "call_id": "10",
        "category": "STREET CRIMES",
        "call_group": "DISORDER",
        "final_case_type": "DISTP",
        "case_desc": "DISTURBANCE",
        "occ_date": "2016-08-10",
        "x_coordinate": "7660085.0",
        "y_coordinate": "672910.0",
        "census_tract": "802.0",
        "_row_hash": "p1",
    }
    result = run([row], catalogue.sources["portland_calls"])
    silver = result.silver.iloc[0]
    assert silver["offense"] == "street_crimes"
    assert silver["category"] == "street"
    assert silver["time_precision"] == "day"
    # Local midnight in Portland in August is 07:00 UTC (PDT, UTC-7).
    assert silver["occurred_at_utc"] == pd.Timestamp("2016-08-10 07:00", tz="UTC")
    assert 45.4 < silver["lat"] < 45.7


def test_edinburgh_day_first_date_and_split_time(catalogue):
    row = {
        "acc_ref": "3910",
        "severity": "Slight",
        "a_date": "02/01/2010",
        "a_time_hr": "14",
        "a_time_min": "4",
        "latitude": "55.978257134308954",
        "longitude": "-3.180206614208757",
        "no_vehicle": "1", "no_casualt": "1", "road_type": "x", "speed_limi": "30",
        "light_cond": "x", "weather": "x", "acc_type": "Pedestrian",
        "_row_hash": "e1",
    }
    result = run([row], catalogue.sources["edinburgh_accidents"])
    silver = result.silver.iloc[0]
    assert silver["occurred_at_local"] == pd.Timestamp("2010-01-02 14:04")
    assert silver["occurred_at_utc"] == pd.Timestamp("2010-01-02 14:04", tz="UTC")
    assert silver["category"] == "road_traffic"


def test_snake_case():
    assert snake_case("Auto Theft") == "auto_theft"
    assert snake_case("MOTOR VEHICLE THEFT") == "motor_vehicle_theft"
    assert snake_case("aggravated assault") == "aggravated_assault"
