"""Tests of the synthetic Kazakhstan: identifiers, determinism, counts and planted items.

The generated worlds use conf/synth.yaml shortened to 26 weeks with the emerging scheme
starting in week 10 and road points every 250 m, so that a world takes seconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import zoneinfo
from pathlib import Path

import numpy as np
import pytest
import yaml

from jobs.synth.cli import generate
from jobs.synth.identifiers import PersonPool, check_digit, is_valid_iin

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
CONF = Path(__file__).resolve().parents[1] / "conf" / "synth.yaml"
INCIDENTS = 10_000
DATABASES = (
    "crime_registry",
    "calls_112",
    "road_police",
    "admin_offences",
    "probation",
    "bank_fraud",
    "operator_fraud",
    "precursors",
)

pytestmark = pytest.mark.skipif(
    not (REAL_DATA / "kz_places.csv.gz").exists(), reason="gazetteer kz_places.csv.gz missing"
)


@pytest.fixture(scope="module")
def small_config(tmp_path_factory) -> Path:
    settings = yaml.safe_load(CONF.read_text(encoding="utf-8"))
    settings["weeks"] = 26
    settings["fraud"]["emerging"]["start_week"] = 10
    settings["road"]["point_spacing_m"] = 250
    path = tmp_path_factory.mktemp("conf") / "synth.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory, small_config) -> Path:
    out = tmp_path_factory.mktemp("seed7")
    generate(7, INCIDENTS, out, jobs=2, settings_path=small_config, real_dir=REAL_DATA)
    return out


def _hashes(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _query(world_dir: Path, database: str, sql: str):
    with sqlite3.connect(world_dir / "agencies" / f"{database}.sqlite") as connection:
        return connection.execute(sql).fetchall()


# --- identifiers -------------------------------------------------------------------


def test_check_digit_first_weights():
    # 9*1 + 1*4 + 1*6 + 3*7 + 1*10 + 2*11 = 72, and 72 mod 11 = 6.
    assert check_digit("90010130012") == 6
    assert is_valid_iin("900101300126")
    # 8*1 + 5*2 + 5*4 + 2*6 + 4*7 + 1*11 = 89, and 89 mod 11 = 1.
    assert check_digit("85050240001") == 1


def test_check_digit_second_weights():
    # First pass: 8 + 10 + 20 + 12 + 28 + 2*10 + 11 = 109 = 10 (mod 11), so weights
    # 3..11, 1, 2: 24 + 20 + 30 + 16 + 36 + 2 + 2 = 130 = 9 (mod 11).
    assert check_digit("85050240021") == 9
    assert is_valid_iin("850502400219")
    assert not is_valid_iin("850502400210")


def test_check_digit_never_issued():
    # First pass 2*9 + 8*10 + 1*11 = 109 = 10, second pass 2*11 + 8*1 + 1*2 = 32 = 10.
    assert check_digit("00000000281") is None
    assert not is_valid_iin("000000002810")


def test_check_digit_rejects_bad_input():
    with pytest.raises(ValueError, match="11 digits"):
        check_digit("12345")


def test_person_pool_iins_match_birth_dates():
    pool = PersonPool(np.random.default_rng(3), 5000, np.datetime64("2023-01-01"))
    assert len(set(pool.iins.tolist())) == 5000
    for iin, birth in zip(pool.iins.tolist(), pool.birth_date_text.tolist(), strict=True):
        assert is_valid_iin(iin), iin
        assert iin[:6] == birth[2:4] + birth[5:7] + birth[8:10], (iin, birth)
        century = 5 if birth >= "2000" else 3
        assert int(iin[6]) in (century, century + 1), (iin, birth)


def test_almaty_offsets_change_in_2024():
    almaty = zoneinfo.ZoneInfo("Asia/Almaty")
    before = dt.datetime(2024, 2, 29, 12, tzinfo=almaty).utcoffset()
    after = dt.datetime(2024, 3, 1, 12, tzinfo=almaty).utcoffset()
    assert before == dt.timedelta(hours=6)
    assert after == dt.timedelta(hours=5)


# --- determinism -------------------------------------------------------------------


def test_same_seed_identical_files(world_dir, small_config, tmp_path):
    generate(7, INCIDENTS, tmp_path, jobs=1, settings_path=small_config, real_dir=REAL_DATA)
    first, second = _hashes(world_dir), _hashes(tmp_path)
    assert sorted(first) == sorted(second)
    differing = [name for name in first if first[name] != second[name]]
    assert differing == []


def test_other_seed_differs(world_dir, small_config, tmp_path):
    generate(8, INCIDENTS, tmp_path, jobs=2, settings_path=small_config, real_dir=REAL_DATA)
    first, second = _hashes(world_dir), _hashes(tmp_path)
    for database in DATABASES:
        name = f"agencies/{database}.sqlite"
        assert first[name] != second[name], name


# --- metadata ----------------------------------------------------------------------


def test_every_database_says_fake(world_dir):
    for database in DATABASES:
        rows = dict(_query(world_dir, database, "select key, value from synthetic_metadata"))
        assert rows["fake"] == "true", database
        assert rows["generated_by"] == "boljam synth", database
        assert rows["seed"] == "7", database


def test_every_dump_says_fake(world_dir):
    for name in ("weather_daily.csv", "gazetteer.csv"):
        first_line = (world_dir / "dumps" / name).read_text(encoding="utf-8").splitlines()[0]
        assert first_line.startswith("# FAKE DATA"), name
    assert '"fake":true' in (world_dir / "dumps" / "roads.geojson").read_text(encoding="utf-8")
    planted = (world_dir / "truth" / "planted.csv").read_text(encoding="utf-8")
    assert planted.startswith("# FAKE DATA")


# --- counts against parameters -----------------------------------------------------


def test_crime_counts_match_shares(world_dir):
    # conf/synth.yaml: crime share 0.60 of 10 000 incidents, split by type shares.
    rows = dict(
        _query(
            world_dir,
            "crime_registry",
            "select crime_type, count(*) from criminal_cases group by crime_type",
        )
    )
    crime_total = sum(count for name, count in rows.items() if name != "fraud")
    assert abs(crime_total - 6000) < 0.05 * 6000, crime_total
    assert abs(rows["theft"] - 2100) < 0.10 * 2100, rows["theft"]
    assert abs(rows["robbery"] - 600) < 0.15 * 600, rows["robbery"]


def test_road_and_call_counts(world_dir):
    # Road accidents: share 0.15 of 10 000. Calls: 0.15 x 10 000 background plus 0.4 of
    # the 6000 crimes.
    accidents = _query(world_dir, "road_police", "select count(*) from accidents")[0][0]
    assert abs(accidents - 1500) < 0.10 * 1500, accidents
    calls = _query(world_dir, "calls_112", "select count(*) from calls")[0][0]
    assert abs(calls - 3900) < 0.08 * 3900, calls


def test_fraud_feed_shares(world_dir):
    import pyarrow.parquet as pq

    fraud = pq.read_table(world_dir / "truth" / "fraud_incidents.parquet").to_pydict()
    total = len(fraud["fraud_id"])
    bank = _query(world_dir, "bank_fraud", "select count(*) from fraud_reports")[0][0]
    operator = _query(world_dir, "operator_fraud", "select count(*) from fraud_signals")[0][0]
    regular = total - sum(fraud["is_emerging"])
    # Regular fraud: share 0.25 of 10 000; feeds hold 0.75 and 0.5 of all incidents.
    assert abs(regular - 2500) < 0.08 * 2500, regular
    assert abs(bank / total - 0.75) < 0.03, bank / total
    assert abs(operator / total - 0.5) < 0.03, operator / total


def test_registration_gap_by_region(world_dir):
    import pyarrow.parquet as pq

    fraud = pq.read_table(world_dir / "truth" / "fraud_incidents.parquet").to_pydict()
    registered = dict(
        _query(
            world_dir,
            "crime_registry",
            "select region_code, count(*) from criminal_cases "
            "where crime_type = 'fraud' group by region_code",
        )
    )
    incidents: dict[str, int] = {}
    for region in fraud["region_code"]:
        incidents[region] = incidents.get(region, 0) + 1
    # Planted in conf/synth.yaml: Almaty 0.15, Shymkent 0.45, Turkestan region 0.50.
    for region, gap in (("ALA", 0.15), ("SHY", 0.45), ("YUZ", 0.50)):
        share = 1 - registered.get(region, 0) / incidents[region]
        tolerance = 4 * (gap * (1 - gap) / incidents[region]) ** 0.5
        assert abs(share - gap) < tolerance, (region, share, incidents[region])


def test_emerging_scheme_planted(world_dir):
    import pyarrow.parquet as pq

    fraud = pq.read_table(world_dir / "truth" / "fraud_incidents.parquet").to_pydict()
    emerging = [
        (week, region)
        for week, region, scheme in zip(
            fraud["week"], fraud["region_code"], fraud["scheme"], strict=True
        )
        if scheme == "sim_reregistration"
    ]
    assert emerging, "no incident of the emerging scheme"
    assert {region for _, region in emerging} <= {"ALA", "AST", "SHY"}
    assert min(week for week, _ in emerging) >= 10
    # Growth 1.08 a week: weeks 18-25 expect 1.08**8 = 1.85 times weeks 10-17.
    early = sum(1 for week, _ in emerging if week < 18)
    late = sum(1 for week, _ in emerging if week >= 18)
    assert late > early, (early, late)
    # The feeds label it "other" with its own description.
    labelled = _query(
        world_dir,
        "bank_fraud",
        "select count(*) from fraud_reports where scheme = 'other' "
        "and description like '%SIM-карты%'",
    )[0][0]
    assert labelled > 0


def test_truth_totals_match_counts(world_dir):
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    accidents = _query(world_dir, "road_police", "select count(*) from accidents")[0][0]
    road = pq.read_table(world_dir / "truth" / "intensity_road_accidents.parquet")
    expected = pc.sum(road["expected_count"]).as_py()
    assert abs(accidents - expected) < 4 * expected**0.5, (accidents, expected)
    fraud_truth = pq.read_table(world_dir / "truth" / "intensity_fraud.parquet")
    fraud_rows = pq.read_metadata(world_dir / "truth" / "fraud_incidents.parquet").num_rows
    expected = pc.sum(fraud_truth["expected_count"]).as_py()
    assert abs(fraud_rows - expected) < 4 * expected**0.5, (fraud_rows, expected)


def test_points_fall_in_truth_cells(world_dir):
    import h3
    import pyarrow.parquet as pq

    truth = pq.read_table(
        world_dir / "truth" / "intensity_street_crime.parquet", columns=["h3_cell"]
    )
    cells = set(truth["h3_cell"].to_pylist())
    points = _query(
        world_dir,
        "crime_registry",
        "select lat, lon from criminal_cases where crime_type in ('theft', 'robbery')",
    )
    outside = [p for p in points if h3.latlng_to_cell(p[0], p[1], 8) not in cells]
    assert points
    assert outside == []


# --- planted violations are in the data --------------------------------------------


def _planted(world_dir: Path, kind: str) -> set[int]:
    lines = (world_dir / "truth" / "planted.csv").read_text(encoding="utf-8").splitlines()[2:]
    return {int(line.split(",")[4]) for line in lines if line.split(",")[1] == kind}


def test_admin_violations_found_by_sql(world_dir):
    above = _query(
        world_dir,
        "admin_offences",
        "select o.offence_id from offences o join articles a using (article) "
        "where o.penalty_mrp > a.max_fine_mrp",
    )
    assert {row[0] for row in above} == _planted(world_dir, "penalty_above_maximum")
    late = _query(
        world_dir,
        "admin_offences",
        "select offence_id from offences "
        "where julianday(date(decision_at)) - julianday(date(offence_at)) > 60",
    )
    assert {row[0] for row in late} == _planted(world_dir, "decision_after_limitation")
    duplicates = _query(
        world_dir,
        "admin_offences",
        "select max(offence_id) from offences group by event_ref having count(*) > 1",
    )
    assert {row[0] for row in duplicates} == _planted(world_dir, "duplicate_penalty")
    assert _planted(world_dir, "penalty_above_maximum")


def test_probation_and_precursor_violations(world_dir):
    unwarned = _query(
        world_dir,
        "probation",
        "select checkin_id from checkins where status = 'missed' and warning_issued_at is null",
    )
    assert {row[0] for row in unwarned} == _planted(world_dir, "missed_without_warning")
    after_end = _query(
        world_dir,
        "probation",
        "select c.checkin_id from checkins c join probationers p using (person_id) "
        "where c.scheduled_date > p.sentence_end",
    )
    assert {row[0] for row in after_end} == _planted(world_dir, "checkin_after_sentence_end")
    unlicensed = _query(
        world_dir, "precursors", "select movement_id from movements where licence_id is null"
    )
    assert {row[0] for row in unlicensed} == _planted(world_dir, "movement_without_licence")
    assert _planted(world_dir, "volume_spike")
