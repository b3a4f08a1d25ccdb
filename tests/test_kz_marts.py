"""The kz marts on a small synthetic Kazakhstan, scored against the generator's truth.

The world is conf/synth.yaml shortened to 26 weeks, with denser probation and precursor
feeds and more planted volume spikes than the default, so that every planted kind occurs
in a world of 10 000 incidents. It is landed through the real ingestion of
conf/kz/sources.yml, and dbt builds the models tagged kz with the default variables.

The truth files are the generator's: truth/planted.csv lists every planted violation and
anomaly by database, table and record id, and truth/fraud_incidents.parquet gives every
fraud incident with its bank report, operator signal and ERDR number.
"""

from __future__ import annotations

import json
import math
import sqlite3
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import duckdb
import pandas as pd
import pytest
import yaml
from conftest import write_kz_profile

from jobs.marts import KZ_SOURCE_TABLES
from jobs.settings import PROJECT_ROOT

REAL_DATA = PROJECT_ROOT.parent / "shared" / "data" / "real"
SYNTH_CONF = PROJECT_ROOT / "conf" / "synth.yaml"
INCIDENTS = 10_000
SUPERVISION_KINDS = (
    "penalty_above_maximum",
    "decision_after_limitation",
    "duplicate_penalty",
    "missed_without_warning",
    "checkin_after_sentence_end",
)
# A region's unregistered share in the mart may differ from the planted share by this
# many binomial standard errors, sqrt(p (1 - p) / n) with n the region's identified
# incidents in the mart.
SHARE_TOLERANCE_SE = 4.0

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (REAL_DATA / "kz_places.csv.gz").exists(),
        reason="gazetteer kz_places.csv.gz missing",
    ),
]


@pytest.fixture(scope="module")
def kz_world(tmp_path_factory) -> Path:
    from jobs.synth.cli import generate

    settings = yaml.safe_load(SYNTH_CONF.read_text(encoding="utf-8"))
    settings["weeks"] = 26
    settings["road"]["point_spacing_m"] = 250
    # 100 probationers and 2000 movements from 100 holders, 10 of them with a spike.
    settings["probation_persons_per_incident"] = 0.01
    settings["precursor_movements_per_incident"] = 0.2
    settings["precursor"]["planted"]["volume_spikes_per_1000_holders"] = 100
    config = tmp_path_factory.mktemp("conf") / "synth.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    out = tmp_path_factory.mktemp("kz_world")
    generate(7, INCIDENTS, out, jobs=2, settings_path=config, real_dir=REAL_DATA)
    return out


@pytest.fixture(scope="module")
def kz_lake(kz_world, tmp_path_factory):
    """Land the mart sources, build the kz models on DuckDB and return the profile."""
    from jobs.ingest.run import ingest_source
    from jobs.marts import run_dbt
    from jobs.settings import load_profile

    root = tmp_path_factory.mktemp("kz_marts")
    path = write_kz_profile(root, kz_world)
    patch = pytest.MonkeyPatch()
    patch.setenv("BOLJAM_PROFILE_FILE", str(path))
    patch.setenv("BOLJAM_PSEUDONYM_KEY", "kz-marts-key-" + "0" * 32)
    patch.delenv("BOLJAM_SOURCES", raising=False)
    try:
        # The silver tables the kz models read; the 112 calls and road accidents are not needed.
        for name in KZ_SOURCE_TABLES:
            ingest_source(name)
        active = load_profile()
        run_dbt(
            ["build", "--select", "tag:kz", "--vars", json.dumps({"kz_marts": True})],
            profile=active,
        )
        yield active
    finally:
        patch.undo()


@pytest.fixture(scope="module")
def kz_marts(kz_lake) -> Path:
    """Return the DuckDB file of the kz marts."""
    return kz_lake.path(kz_lake.dbt.duckdb_path)


def _query(database: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(sql).df()


def _planted(kz_world: Path) -> pd.DataFrame:
    return pd.read_csv(kz_world / "truth" / "planted.csv", comment="#")


def _source_frame(kz_world: Path, database: str, sql: str) -> pd.DataFrame:
    with sqlite3.connect(kz_world / "agencies" / f"{database}.sqlite") as connection:
        return pd.read_sql_query(sql, connection)


def test_supervision_finds_every_planted_violation(kz_world, kz_marts):
    planted = _planted(kz_world)
    findings = _query(
        kz_marts, "select rule_name, record_id from marts.fct_kz_supervision_findings"
    )
    for kind in SUPERVISION_KINDS:
        expected = set(planted.loc[planted["kind"] == kind, "record_id"].astype(int))
        found = set(findings.loc[findings["rule_name"] == kind, "record_id"].astype(int))
        assert expected, f"the world has no planted {kind}; enlarge it"
        assert expected - found == set(), f"{kind}: planted but not found"
        assert found - expected == set(), f"{kind}: found but not planted"


def test_precursor_unlicensed_movements_found(kz_world, kz_marts):
    planted = _planted(kz_world)
    expected = set(
        planted.loc[planted["kind"] == "movement_without_licence", "record_id"].astype(int)
    )
    found = set(
        _query(
            kz_marts,
            "select movement_id from marts.fct_kz_precursor_movements where has_no_licence",
        )["movement_id"].astype(int)
    )
    assert expected
    assert expected - found == set()
    assert found - expected == set()


def test_precursor_anomalies_only_planted_kinds(kz_marts):
    reasons = _query(
        kz_marts,
        "select distinct anomaly_reasons from marts.fct_kz_precursor_movements where is_anomaly",
    )["anomaly_reasons"]
    assert set(reasons) <= {"no_licence", "volume_spike"}


def test_precursor_volume_spikes_found(kz_world, kz_marts):
    """Every planted spike month with a licensed movement is flagged, and no other month.

    A spike is planted on a holder and month. When the holder has no licensed movement in
    that month (the month lies at the edge of the period), the data shows no trace of it.
    """
    planted = _planted(kz_world)
    spikes = planted.loc[planted["kind"] == "volume_spike"].copy()
    spikes["month"] = spikes["detail"].str.extract(r"month=(\d{4}-\d{2})", expand=False)
    planted_months = set(zip(spikes["record_id"].astype(int), spikes["month"], strict=True))
    movements = _source_frame(
        kz_world,
        "precursors",
        "select distinct licence_id, substr(moved_at, 1, 7) as month from movements"
        " where licence_id is not null",
    )
    active = set(zip(movements["licence_id"].astype(int), movements["month"], strict=True))
    detectable = planted_months & active
    flagged = _query(
        kz_marts,
        "select licence_id, strftime(month_start, '%Y-%m') as month"
        " from marts.agg_kz_precursor_holder_months where is_volume_spike",
    )
    found = set(zip(flagged["licence_id"].astype(int), flagged["month"], strict=True))
    assert len(detectable) >= len(planted_months) // 2
    assert detectable - found == set()
    assert found - planted_months == set()


def _fraud_truth(kz_world: Path) -> pd.DataFrame:
    truth = pd.read_parquet(kz_world / "truth" / "fraud_incidents.parquet")
    in_feeds = truth["bank_report_id"].notna() | truth["operator_signal_id"].notna()
    return truth.loc[in_feeds].copy()


def _fraud_mart(kz_marts: Path) -> pd.DataFrame:
    return _query(
        kz_marts,
        "select fraud_incident_id, report_id, signal_id, region_code, erdr_no,"
        " registration_status from marts.fct_kz_fraud_registration",
    )


def test_fraud_incidents_one_row_each(kz_world, kz_marts):
    truth = _fraud_truth(kz_world)
    mart = _fraud_mart(kz_marts)

    def pairs(frame, report, signal):
        return set(
            zip(
                frame[report].astype("Int64").astype(str),
                frame[signal].astype("Int64").astype(str),
                strict=True,
            )
        )

    assert len(mart) == len(truth)
    assert pairs(mart, "report_id", "signal_id") == pairs(
        truth, "bank_report_id", "operator_signal_id"
    )


def test_fraud_registration_matches_truth(kz_world, kz_marts):
    truth = _fraud_truth(kz_world)
    truth["key"] = [
        f"bank:{int(report)}" if pd.notna(report) else f"operator:{int(signal)}"
        for report, signal in zip(truth["bank_report_id"], truth["operator_signal_id"], strict=True)
    ]
    joined = _fraud_mart(kz_marts).merge(
        truth[["key", "registered", "erdr_no"]],
        left_on="fraud_incident_id",
        right_on="key",
        suffixes=("", "_truth"),
    )
    identified = joined.loc[joined["registration_status"] != "unidentified"]
    registered = identified["registration_status"] == "registered"
    agreement = (registered == identified["registered"]).mean()
    same_case = (
        identified.loc[registered, "erdr_no"] == identified.loc[registered, "erdr_no_truth"]
    ).mean()
    assert len(identified) >= 0.8 * len(joined)
    assert agreement >= 0.99
    assert same_case >= 0.99


def test_fraud_unregistered_share_per_region(kz_world, kz_marts):
    gap = pd.read_csv(kz_world / "truth" / "registration_gap.csv", comment="#")
    weekly = _query(
        kz_marts,
        "select region_code, sum(registered_count) as registered,"
        " sum(unregistered_count) as unregistered"
        " from marts.agg_kz_fraud_registration_weekly group by region_code",
    )
    regions = weekly.merge(gap, on="region_code", validate="one_to_one")
    assert len(regions) == len(gap)
    for row in regions.itertuples():
        identified = row.registered + row.unregistered
        share = row.unregistered / identified
        planted = row.unregistered_share
        standard_error = math.sqrt(planted * (1 - planted) / identified)
        assert abs(share - planted) <= SHARE_TOLERANCE_SE * standard_error, (
            f"{row.region_code}: share {share:.3f} of {identified}, planted {planted:.2f}"
        )


def test_dim_area_has_2022_regions(kz_marts):
    from jobs.synth.geography import REGIONS_2022

    frame = _query(
        kz_marts,
        "select area_key, area_level, parent_area_key, area_code, area_name"
        " from marts.dim_area order by area_key",
    )
    regions = frame[frame["area_level"] == "region"]
    assert sorted(regions["area_code"]) == sorted(code for code, _, _ in REGIONS_2022)
    assert dict(zip(regions["area_code"], regions["area_name"], strict=True)) == {
        code: name for code, name, _ in REGIONS_2022
    }
    assert set(regions["parent_area_key"]) == {"kazakhstan"}
    assert list(frame.loc[frame["area_level"] == "country", "area_key"]) == ["kazakhstan"]


def test_dim_area_places_inside_regions(kz_world, kz_marts):
    import shapely

    outlines = _query(
        kz_marts,
        "select area_code, outline_wkt from marts.dim_area where area_level = 'region'",
    )
    shapes = dict(
        zip(outlines["area_code"], shapely.from_wkt(outlines["outline_wkt"]), strict=True)
    )
    places = pd.read_csv(kz_world / "dumps" / "gazetteer.csv", comment="#")
    assert len(places) > 200
    outside = [
        (row.place_name, row.region_code)
        for row in places.itertuples()
        if not shapes[row.region_code].contains(shapely.Point(row.longitude, row.latitude))
    ]
    assert outside == []


def test_dim_area_region_case_counts(kz_lake, kz_marts):
    from deltalake import DeltaTable

    cases = DeltaTable(str(kz_lake.table_path("silver", "kz_crime_cases"))).to_pandas(
        columns=["region_code"]
    )
    expected = cases["region_code"].value_counts().to_dict()
    frame = _query(
        kz_marts,
        "select area_level, area_code, incident_count, area_km2 from marts.dim_area",
    )
    regions = frame[frame["area_level"] == "region"]
    actual = dict(zip(regions["area_code"], regions["incident_count"].astype(int), strict=True))
    assert {code: count for code, count in actual.items() if count} == expected
    country = frame[frame["area_level"] == "country"].iloc[0]
    assert int(country["incident_count"]) == len(cases)
    # Kazakhstan covers about 2.7 million km2, and the generated hull adds a margin.
    assert 2.0e6 < country["area_km2"] < 4.0e6


@pytest.fixture(scope="module")
def kz_postgres(kz_lake, postgres_url):
    """Build the kz models on the postgres target into a fresh database; return its URL."""
    import psycopg2

    from jobs.marts import run_dbt
    from jobs.settings import DbtSettings

    name = f"boljam_kz_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(postgres_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"create database {name}")
    url = urlunsplit(urlsplit(postgres_url)._replace(path=f"/{name}"))
    profile = kz_lake.model_copy(
        update={"dbt": DbtSettings(target="postgres", duckdb_path=kz_lake.dbt.duckdb_path)}
    )
    try:
        run_dbt(
            ["build", "--select", "tag:kz", "--vars", json.dumps({"kz_marts": True})],
            profile=profile,
            postgres_url=url,
        )
        yield url
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"drop database if exists {name} with (force)")
        admin.close()


def test_postgres_findings_equal_duckdb(kz_marts, kz_postgres):
    import psycopg2

    sql = "select finding_id from marts.fct_kz_supervision_findings"
    connection = psycopg2.connect(kz_postgres)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            on_postgres = {row[0] for row in cursor.fetchall()}
    finally:
        connection.close()
    on_duckdb = set(_query(kz_marts, sql)["finding_id"])
    assert on_duckdb
    assert on_postgres == on_duckdb


def test_postgres_unregistered_counts_equal_duckdb(kz_marts, kz_postgres):
    import psycopg2

    sql = (
        "select region_code, cast(sum(unregistered_count) as integer)"
        " from marts.agg_kz_fraud_registration_weekly group by region_code"
    )
    connection = psycopg2.connect(kz_postgres)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            on_postgres = dict(cursor.fetchall())
    finally:
        connection.close()
    frame = _query(kz_marts, sql)
    on_duckdb = dict(zip(frame.iloc[:, 0], frame.iloc[:, 1].astype(int), strict=True))
    assert on_postgres == on_duckdb
