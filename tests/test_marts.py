"""dbt build of the marts on small literal silver Delta tables, checked against hand counts.

Fixture calendar (all dates local):
- houston runs from Sat 2010-01-02 to Tue 2010-01-26, so the complete weeks start on
  2010-01-04, 2010-01-11 and 2010-01-18. It has cells A and B and the categories
  property, street and violent.
- portland runs from Mon 2016-08-01 to Wed 2016-08-10, so the one complete week starts
  on 2016-08-01. It has cells C and D and the categories property and street.
- edinburgh has Tue 2012-03-06 and Thu 2012-03-08 only, so no complete week.
- citizen appeals: three loaded on Mon 2026-11-30 and one on Thu 2026-12-10; the build
  checks deadlines as of 2026-12-20 with the default 15 response days.
- gold forecasts: target t1 has an old run (2026-12-01) and a new run (2026-12-02) of two
  cells each, target t2 one run of one cell.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

UTC = dt.UTC
LOADED_AT = dt.datetime.now(UTC).replace(microsecond=0)
APPEALS_AS_OF = "2026-12-20"
BUILD_VARS = json.dumps({"appeals_as_of": APPEALS_AS_OF})

# Points inside each city. The test derives their cells with h3, so they are real cells.
HOUSTON_A = (29.7604, -95.3698)
HOUSTON_B = (29.7000, -95.4000)
PORTLAND_C = (45.5152, -122.6784)
PORTLAND_D = (45.5500, -122.6500)
EDINBURGH_E = (55.9533, -3.1883)


def _incident(
    source: str,
    city: str,
    zone: str,
    precision: str,
    incident_id: str,
    local: dt.datetime,
    offense: str,
    category: str,
    point: tuple[float, float],
) -> dict:
    import h3

    lat, lon = point
    aware = local.replace(tzinfo=ZoneInfo(zone))
    return {
        "incident_id": incident_id,
        "source": source,
        "city": city,
        "occurred_at_utc": aware.astimezone(UTC),
        "occurred_at_local": local,
        "local_date": local.date(),
        "timezone": zone,
        "time_precision": precision,
        "offense": offense,
        "category": category,
        "lat": lat,
        "lon": lon,
        "h3_r7": h3.latlng_to_cell(lat, lon, 7),
        "h3_r8": h3.latlng_to_cell(lat, lon, 8),
        "h3_r9": h3.latlng_to_cell(lat, lon, 9),
        "quality_flags": "",
        "_batch_id": "batch-1",
        "_loaded_at": LOADED_AT,
        "_row_hash": f"hash-{source}-{incident_id}",
    }


def _houston_rows() -> list[dict]:
    def row(incident_id, local, offense, category, point):
        return _incident(
            "houston_crime", "houston", "America/Chicago", "hour",
            incident_id, local, offense, category, point,
        )  # fmt: skip

    rows = [
        # Saturday of a partial week: in fct_incidents only.
        row("h1", dt.datetime(2010, 1, 2, 10), "burglary", "property", HOUSTON_A),
        row("h2", dt.datetime(2010, 1, 4, 9), "burglary", "property", HOUSTON_A),
        row("h3", dt.datetime(2010, 1, 6, 14), "theft", "property", HOUSTON_A),
        # Sunday 23:30 local is Monday 05:30 UTC: it stays in the week of 2010-01-11.
        row("h4", dt.datetime(2010, 1, 17, 23, 30), "robbery", "street", HOUSTON_A),
        row("h5", dt.datetime(2010, 1, 19, 2), "murder", "violent", HOUSTON_B),
        # Tuesday of a partial week: in fct_incidents only.
        row("h6", dt.datetime(2010, 1, 26, 8), "auto_theft", "property", HOUSTON_B),
    ]
    extra = {
        "premise": "residence",
        "beat": "1A10",
        "location": "18",
        "address": "p1",
        "block": "p2",
    }
    return [{**r, **extra} for r in rows]


def _portland_rows() -> list[dict]:
    def row(incident_id, day, offense, category, point):
        return _incident(
            "portland_calls", "portland", "America/Los_Angeles", "day",
            incident_id, dt.datetime(2016, 8, day), offense, category, point,
        )  # fmt: skip

    rows = [
        row("p1", 1, "burglary", "property", PORTLAND_C),
        row("p2", 7, "street_crimes", "street", PORTLAND_C),
        row("p3", 10, "motor_vehicle_theft", "property", PORTLAND_D),
    ]
    extra = {
        "call_group": "BURGLARY",
        "final_case_type": "BURGP",
        "case_desc": "BURGLARY - PRIORITY",
        "census_tract": "5100",
    }
    return [{**r, **extra} for r in rows]


def _edinburgh_rows() -> list[dict]:
    def row(incident_id, day):
        return _incident(
            "edinburgh_accidents", "edinburgh", "Europe/London", "minute",
            incident_id, dt.datetime(2012, 3, day, 8, 15), "slight", "road_traffic", EDINBURGH_E,
        )  # fmt: skip

    extra = {
        "no_vehicle": "2",
        "no_casualt": "1",
        "road_type": "Roundabout",
        "speed_limi": "30",
        "light_cond": "Daylight",
        "weather": "Fine (without high winds)",
        "acc_type": "3",
    }
    return [{**row("e1", 6), **extra}, {**row("e2", 8), **extra}]


def _write_table(path: Path, rows: list[dict], extra_fields: list) -> None:
    import pyarrow as pa
    from deltalake import write_deltalake

    from jobs.schemas import SILVER_INCIDENT_COMMON

    schema = pa.schema(list(SILVER_INCIDENT_COMMON) + extra_fields)
    write_deltalake(str(path), pa.Table.from_pylist(rows, schema=schema))


# Fixture district outlines in WGS84: 100 around PORTLAND_C, 200 around PORTLAND_D and
# 300 south of both, with no incident.
FIXTURE_DISTRICTS = {
    "100": "POLYGON ((-122.69 45.51, -122.67 45.51, -122.67 45.52, -122.69 45.52, -122.69 45.51))",
    "200": "POLYGON ((-122.66 45.54, -122.64 45.54, -122.64 45.56, -122.66 45.56, -122.66 45.54))",
    "300": "POLYGON ((-122.69 45.40, -122.67 45.40, -122.67 45.42, -122.69 45.42, -122.69 45.40))",
}


def _write_districts(path: Path) -> None:
    """Write a silver portland_districts table as the shapefile landing writes it."""
    import pyarrow as pa
    from deltalake import write_deltalake

    loaded_at = dt.datetime(2016, 10, 1, tzinfo=dt.UTC)
    rows = [
        {
            "record_id": code, "DISTRICT": code, "PRECINCT": "CE", "Shape_Area": "0.5",
            "geometry_wkt": wkt, "geometry_area_km2": "3.5",
            "geometry_centroid_lat": "45.5", "geometry_centroid_lon": "-122.7",
            "quality_flags": "", "_batch_id": "fixture", "_loaded_at": loaded_at,
        }
        for code, wkt in FIXTURE_DISTRICTS.items()
    ]  # fmt: skip
    write_deltalake(str(path), pa.Table.from_pylist(rows))


def _write_rejects(path: Path) -> None:
    import pyarrow as pa
    from deltalake import write_deltalake

    from jobs.schemas import REJECTS

    row = {
        "source": "houston_crime",
        "batch_id": "batch-1",
        "record_key": "h99",
        "reason_code": "missing_coordinates",
        "reason_detail": "lat and lon are empty",
        "raw_record": '{"offense_id": "h99"}',
        "rejected_at": LOADED_AT,
    }
    write_deltalake(str(path), pa.Table.from_pylist([row], schema=REJECTS))


def _write_appeals(path: Path) -> None:
    import pyarrow as pa
    from deltalake import write_deltalake

    columns = ["record_id", "id", "text_kz", "text_ru", "category", "urgency", "region"]
    columns += ["status", "reply_text", "duplicate", "quality_flags", "_source_object"]
    columns += ["_batch_id", "_row_hash"]
    schema = pa.schema(
        [pa.field(name, pa.string()) for name in columns]
        + [
            pa.field("_record_number", pa.int64()),
            pa.field("_loaded_at", pa.timestamp("us", tz="UTC")),
        ]
    )
    first_load = dt.datetime(2026, 11, 30, 10, tzinfo=UTC)
    second_load = dt.datetime(2026, 12, 10, 10, tzinfo=UTC)

    def appeal(record_id, category, region, urgency, status, duplicate, loaded_at):
        return {
            "record_id": record_id, "id": record_id, "text_kz": "мәтін", "text_ru": "текст",
            "category": category, "urgency": urgency, "region": region, "status": status,
            "reply_text": "", "duplicate": duplicate, "quality_flags": "",
            "_source_object": "appeals.json", "_batch_id": "batch-1",
            "_row_hash": f"hash-{record_id}", "_record_number": int(record_id),
            "_loaded_at": loaded_at,
        }  # fmt: skip

    rows = [
        appeal("1", "ЖКХ", "Астана", "высокая", "новая", "False", first_load),
        appeal("2", "ЖКХ", "Астана", "высокая", "решена", "True", first_load),
        appeal("3", "дороги", "Алматы", "низкая", "в процессе", "False", first_load),
        appeal("4", "ЖКХ", "Астана", "высокая", "в процессе", "False", second_load),
    ]
    write_deltalake(str(path), pa.Table.from_pylist(rows, schema=schema))


def _write_gold(gold: Path) -> None:
    import pyarrow as pa
    from deltalake import write_deltalake

    from jobs.schemas import GOLD_BACKTESTS, GOLD_FORECASTS

    old_run = dt.datetime(2026, 12, 1, 9, tzinfo=UTC)
    new_run = dt.datetime(2026, 12, 2, 9, tzinfo=UTC)

    def forecast(target, run_id, cell, predicted, rank, feature, created_at):
        return {
            "target": target, "run_id": run_id, "model": "lightgbm", "period": "week",
            "period_start": dt.date(2010, 2, 1), "unit": "h3", "area_id": cell,
            "h3_cell": cell, "predicted": predicted,
            "lower": predicted - 1.0, "upper": predicted + 2.0, "risk_rank": rank,
            "top_contributions": f'[{{"feature": "{feature}", "contribution": 1.5}}]',
            "created_at": created_at,
        }  # fmt: skip

    forecasts = [
        forecast("t1", "old", "cell_a", 9.0, 1, "mean_4", old_run),
        forecast("t1", "old", "cell_b", 8.0, 2, "mean_4", old_run),
        forecast("t1", "new", "cell_a", 5.0, 2, "mean_all", new_run),
        forecast("t1", "new", "cell_b", 6.0, 1, "mean_8", new_run),
        forecast("t2", "other", "cell_a", 1.0, 1, "week_of_year", old_run),
    ]
    write_deltalake(str(gold / "forecasts"), pa.Table.from_pylist(forecasts, schema=GOLD_FORECASTS))
    backtests = [
        {"target": "t1", "run_id": "new", "fold": 1, "period_start": dt.date(2010, 1, 4),
         "method": "lightgbm", "metric": "hit_rate_1pct", "value": 0.25},
        {"target": "t1", "run_id": "new", "fold": 1, "period_start": dt.date(2010, 1, 4),
         "method": "lightgbm", "metric": "actual_total", "value": 4.0},
    ]  # fmt: skip
    write_deltalake(str(gold / "backtests"), pa.Table.from_pylist(backtests, schema=GOLD_BACKTESTS))


def _with_text_nulls(rows: list[dict]):
    """Return rows as an Arrow table whose all-null columns are text, as the text jobs write."""
    import pyarrow as pa

    table = pa.Table.from_pylist(rows)
    for index, field in enumerate(table.schema):
        if pa.types.is_null(field.type):
            table = table.set_column(index, field.name, table.column(index).cast(pa.string()))
    return table


def _write_text_tables(lake: Path) -> None:
    """Write the text jobs' tables: the four appeals triaged, three media items, two terms."""
    import pyarrow as pa
    from deltalake import write_deltalake

    def triaged(appeal_id, region_code, predicted_duplicate, duplicate_of):
        return {
            "appeal_id": appeal_id, "category_predicted": "ЖКХ", "urgency_predicted": "высокая",
            "city": None, "region_code": region_code, "region_name": None,
            "place_source": "region_column", "is_duplicate_predicted": predicted_duplicate,
            "duplicate_of_id": duplicate_of, "duplicate_similarity": 0.5,
        }  # fmt: skip

    appeals = [
        triaged(1, "AST", False, None),
        triaged(2, "AST", True, 1),
        triaged(3, "ALA", False, 1),
        triaged(4, "AST", True, 2),
    ]
    write_deltalake(str(lake / "silver" / "appeals"), _with_text_nulls(appeals))

    def item(item_id, language, published_on, threat_class, tag_source, region_code):
        return {
            "item_id": item_id, "source": "fixture", "language": language, "title": item_id,
            "body": None, "url": None, "date_raw": published_on.isoformat(),
            "published_on": published_on, "source_category": None,
            "threat_class": threat_class, "tag_source": tag_source, "city": None,
            "region_code": region_code,
            "week_start": published_on - dt.timedelta(days=published_on.weekday()),
        }  # fmt: skip

    items = [
        item("headline:1", "ru", dt.date(2025, 12, 1), "fraud", "lexicon", "ALA"),
        item("headline:2", "ru", dt.date(2025, 12, 4), "fraud", "model", "ALA"),
        item("article:3", "kk", dt.date(2025, 12, 8), "other", "none", "UNK"),
    ]
    write_deltalake(str(lake / "silver" / "media_items"), _with_text_nulls(items))
    terms = [
        {"week_start": dt.date(2025, 12, 1), "term": "мошен", "count": 4, "expected": 0.5,
         "p_value": 0.0002, "example": "headline:1"},
        {"week_start": dt.date(2025, 12, 1), "term": "банк + мошен", "count": 3,
         "expected": 0.75, "p_value": 0.04, "example": "headline:2"},
    ]  # fmt: skip
    write_deltalake(str(lake / "gold" / "emerging_terms"), pa.Table.from_pylist(terms))


def write_fixture_lake(lake: Path) -> None:
    """Write the fixture silver and gold Delta tables of this module under ``lake``."""
    import pyarrow as pa

    silver = lake / "silver"
    # Silver stores every source-specific column as text (see silver_schema in jobs/ingest).
    text = pa.string()
    _write_table(
        silver / "houston_crime",
        _houston_rows(),
        [pa.field(name, text) for name in ("premise", "beat", "location", "address", "block")],
    )
    _write_table(
        silver / "portland_calls",
        _portland_rows(),
        [
            pa.field(name, text)
            for name in ("call_group", "final_case_type", "case_desc", "census_tract")
        ],
    )
    _write_table(
        silver / "edinburgh_accidents",
        _edinburgh_rows(),
        [
            pa.field(name, text)
            for name in (
                "no_vehicle",
                "no_casualt",
                "road_type",
                "speed_limi",
                "light_cond",
                "weather",
                "acc_type",
            )
        ],
    )
    _write_rejects(silver / "rejects")
    _write_districts(silver / "portland_districts")
    _write_appeals(silver / "citizen_appeals")
    _write_gold(lake / "gold")
    _write_text_tables(lake)


def _duckdb_profile(root: Path, lake: Path):
    from jobs.settings import DbtSettings, load_profile

    # Not marts.duckdb: DuckDB names the catalog after the file, which would clash with
    # the marts schema.
    return load_profile("embedded").model_copy(
        update={
            "lake_dir": str(lake),
            "var_dir": str(root / "var"),
            "dbt": DbtSettings(target="duckdb", duckdb_path=str(root / "boljam.duckdb")),
        }
    )


@pytest.fixture(scope="module")
def built_root(tmp_path_factory) -> Path:
    """Write the fixture lake, run dbt build once and return the folder of lake and DuckDB."""
    from jobs.marts import run_dbt

    root = tmp_path_factory.mktemp("marts")
    write_fixture_lake(root / "lake")
    run_dbt(["build", "--vars", BUILD_VARS], profile=_duckdb_profile(root, root / "lake"))
    return root


@pytest.fixture(scope="module")
def built_marts(built_root) -> Path:
    """The DuckDB file of the module's dbt build."""
    return built_root / "boljam.duckdb"


def _query(duckdb_path: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        return connection.execute(sql, parameters or []).fetchall()


def _weekly_count(duckdb_path: Path, cell: str, week_start: str, category: str) -> int:
    rows = _query(
        duckdb_path,
        "select incident_count from marts.agg_incidents_h3_weekly"
        " where h3_r8 = ? and week_start = cast(? as date) and category = ?",
        [cell, week_start, category],
    )
    assert len(rows) == 1, f"expected one panel row for {cell} {week_start} {category}: {rows}"
    return rows[0][0]


def test_fct_incidents_one_row_per_incident(built_marts):
    rows = _query(built_marts, "select source, count(*) from marts.fct_incidents group by 1")
    assert dict(rows) == {"houston_crime": 6, "portland_calls": 3, "edinburgh_accidents": 2}


def test_fct_incidents_key_and_local_week(built_marts):
    rows = _query(
        built_marts,
        "select incident_key, week_start, occurred_at_utc"
        " from marts.fct_incidents where incident_id = 'h4'",
    )
    assert len(rows) == 1
    incident_key, week_start, occurred_at_utc = rows[0]
    # md5('houston_crime|h4'), computed by hand with `printf 'houston_crime|h4' | md5sum`.
    assert incident_key == "895e08fe241235c539ab8851e9218978"
    assert week_start == dt.date(2010, 1, 11)
    assert occurred_at_utc.astimezone(UTC) == dt.datetime(2010, 1, 18, 5, 30, tzinfo=UTC)


def test_weekly_panel_size_per_city(built_marts):
    rows = _query(
        built_marts,
        "select city, count(*), sum(incident_count)"
        " from marts.agg_incidents_h3_weekly group by city",
    )
    # houston: 2 cells x 3 weeks x 3 categories; portland: 2 cells x 1 week x 2 categories.
    assert {city: (size, total) for city, size, total in rows} == {
        "houston": (18, 4),
        "portland": (4, 2),
    }


def test_weekly_panel_weeks(built_marts):
    rows = _query(
        built_marts,
        "select distinct city, week_start, week_end from marts.agg_incidents_h3_weekly"
        " order by city, week_start",
    )
    assert rows == [
        ("houston", dt.date(2010, 1, 4), dt.date(2010, 1, 10)),
        ("houston", dt.date(2010, 1, 11), dt.date(2010, 1, 17)),
        ("houston", dt.date(2010, 1, 18), dt.date(2010, 1, 24)),
        ("portland", dt.date(2016, 8, 1), dt.date(2016, 8, 7)),
    ]


def test_weekly_panel_counts_and_zeros(built_marts):
    import h3

    cell_a = h3.latlng_to_cell(*HOUSTON_A, 8)
    cell_b = h3.latlng_to_cell(*HOUSTON_B, 8)
    cell_c = h3.latlng_to_cell(*PORTLAND_C, 8)
    cell_d = h3.latlng_to_cell(*PORTLAND_D, 8)
    assert _weekly_count(built_marts, cell_a, "2010-01-04", "property") == 2
    assert _weekly_count(built_marts, cell_a, "2010-01-11", "property") == 0
    assert _weekly_count(built_marts, cell_a, "2010-01-11", "street") == 1
    assert _weekly_count(built_marts, cell_a, "2010-01-18", "street") == 0
    assert _weekly_count(built_marts, cell_b, "2010-01-18", "violent") == 1
    assert _weekly_count(built_marts, cell_b, "2010-01-04", "violent") == 0
    assert _weekly_count(built_marts, cell_c, "2016-08-01", "property") == 1
    assert _weekly_count(built_marts, cell_c, "2016-08-01", "street") == 1
    # p3 falls in the partial week of 2016-08-08, so cell D is in the study area with zeros.
    assert _weekly_count(built_marts, cell_d, "2016-08-01", "property") == 0


def _empty_lake_profile(tmp_path: Path):
    from jobs.settings import DbtSettings, load_profile

    return load_profile("embedded").model_copy(
        update={
            "lake_dir": str(tmp_path / "empty_lake"),
            "var_dir": str(tmp_path / "var"),
            "dbt": DbtSettings(target="duckdb", duckdb_path=str(tmp_path / "empty.duckdb")),
        }
    )


def test_run_dbt_names_failed_node(tmp_path):
    from jobs.marts import DbtRunError, run_dbt

    # An empty lake: the staging view fails because delta_scan finds no Delta table.
    with pytest.raises(DbtRunError) as caught:
        run_dbt(["run", "--select", "stg_houston__offenses"], profile=_empty_lake_profile(tmp_path))
    assert "model.boljam.stg_houston__offenses" in str(caught.value)
    assert len(caught.value.failed_nodes) == 1


def test_marts_command_exit_code(tmp_path, monkeypatch):
    import argparse

    from jobs import marts

    monkeypatch.setattr(marts, "load_profile", lambda name=None: _empty_lake_profile(tmp_path))
    args = argparse.Namespace(dbt_args=["run", "--select", "stg_houston__offenses"], profile=None)
    assert marts.run(args) == 1


def test_dim_h3_cell_rows_and_parents(built_marts):
    import h3

    # Five points, each in its own cell at every resolution: 5 x 3 cells.
    rows = _query(built_marts, "select resolution, count(*) from marts.dim_h3_cell group by 1")
    assert dict(rows) == {7: 5, 8: 5, 9: 5}

    cell_r9 = h3.latlng_to_cell(*HOUSTON_A, 9)
    rows = _query(
        built_marts,
        "select parent_r7, parent_r8, area_km2, city, centroid_lat from marts.dim_h3_cell"
        " where h3_cell = ?",
        [cell_r9],
    )
    assert len(rows) == 1
    parent_r7, parent_r8, area_km2, city, centroid_lat = rows[0]
    assert parent_r7 == h3.cell_to_parent(cell_r9, 7)
    assert parent_r8 == h3.cell_to_parent(cell_r9, 8)
    # An r9 cell is about 0.1 km2 and 0.2 km across, so its centre is within 0.005 degrees.
    assert 0.08 < area_km2 < 0.13
    assert city == "houston"
    assert abs(centroid_lat - HOUSTON_A[0]) < 0.005


def test_dim_h3_cell_r7_has_no_r8_parent(built_marts):
    import h3

    cell_r7 = h3.latlng_to_cell(*EDINBURGH_E, 7)
    rows = _query(
        built_marts,
        "select parent_r7, parent_r8, city from marts.dim_h3_cell where h3_cell = ?",
        [cell_r7],
    )
    assert rows == [(cell_r7, None, "edinburgh")]


def test_dim_area_cities(built_marts):
    rows = _query(
        built_marts,
        "select area_key, first_date, last_date, incident_count, h3_r8_cell_count, centroid_lat"
        " from marts.dim_area where area_level = 'city' order by area_key",
    )
    assert [row[:5] for row in rows] == [
        ("edinburgh", dt.date(2012, 3, 6), dt.date(2012, 3, 8), 2, 1),
        ("houston", dt.date(2010, 1, 2), dt.date(2010, 1, 26), 6, 2),
        ("portland", dt.date(2016, 8, 1), dt.date(2016, 8, 10), 3, 2),
    ]
    # h1 to h4 at point A, h5 and h6 at point B: (4 x 29.7604 + 2 x 29.7) / 6.
    assert rows[1][5] == pytest.approx(29.7402667, abs=1e-6)


def test_dim_area_districts_count_calls(built_marts):
    rows = _query(
        built_marts,
        "select area_key, parent_area_key, area_code, incident_count, first_date, last_date,"
        " outline_wkt from marts.dim_area where area_level = 'district' order by area_key",
    )
    # p1 and p2 at PORTLAND_C in district 100, p3 at PORTLAND_D in 200, none in 300.
    assert [row[:6] for row in rows] == [
        ("portland/district/100", "portland", "100", 2, dt.date(2016, 8, 1), dt.date(2016, 8, 7)),
        ("portland/district/200", "portland", "200", 1, dt.date(2016, 8, 10), dt.date(2016, 8, 10)),
        ("portland/district/300", "portland", "300", 0, None, None),
    ]
    assert [row[6] for row in rows] == list(FIXTURE_DISTRICTS.values())


def test_area_daily_panel_size(built_marts):
    rows = _query(
        built_marts,
        "select city, count(*), sum(incident_count)"
        " from marts.agg_incidents_area_daily group by city",
    )
    # houston: 25 days x 3 categories; portland: 10 days x 2; edinburgh: 3 days x 1.
    assert {city: (size, total) for city, size, total in rows} == {
        "houston": (75, 6),
        "portland": (20, 3),
        "edinburgh": (3, 2),
    }


@pytest.mark.parametrize(
    ("city", "local_date", "category", "expected"),
    [
        ("houston", "2010-01-03", "property", 0),
        ("houston", "2010-01-04", "property", 1),
        # h4 is Sunday 23:30 local, already Monday in UTC: it counts on the local date.
        ("houston", "2010-01-17", "street", 1),
        ("houston", "2010-01-18", "street", 0),
        ("portland", "2016-08-07", "street", 1),
        ("edinburgh", "2012-03-07", "road_traffic", 0),
    ],
)
def test_area_daily_counts(built_marts, city, local_date, category, expected):
    rows = _query(
        built_marts,
        "select incident_count from marts.agg_incidents_area_daily"
        " where city = ? and local_date = cast(? as date) and category = ?",
        [city, local_date, category],
    )
    assert rows == [(expected,)]


def test_appeals_weekly_volume(built_marts):
    rows = _query(
        built_marts,
        "select category, region, urgency, week_start, appeal_count, duplicate_count,"
        " resolved_count from marts.agg_appeals_weekly order by week_start, category",
    )
    assert rows == [
        ("ЖКХ", "Астана", "высокая", dt.date(2026, 11, 30), 2, 1, 1),
        ("дороги", "Алматы", "низкая", dt.date(2026, 11, 30), 1, 0, 0),
        ("ЖКХ", "Астана", "высокая", dt.date(2026, 12, 7), 1, 0, 0),
    ]


def test_appeal_duplicate_share(built_marts):
    rows = _query(
        built_marts,
        "select category, appeal_count, duplicate_count, duplicate_share"
        " from marts.agg_appeal_duplicates order by category",
    )
    assert [row[:3] for row in rows] == [("ЖКХ", 3, 1), ("дороги", 1, 0)]
    assert rows[0][3] == pytest.approx(1 / 3)
    assert rows[1][3] == 0


def test_appeals_overdue_as_of_date(built_marts):
    rows = _query(
        built_marts,
        "select appeal_id, response_due_on, days_overdue"
        " from marts.fct_appeals_overdue order by appeal_id",
    )
    # Loaded 2026-11-30, due 15 days later on 2026-12-15, 5 days late on 2026-12-20.
    # Appeal 2 is resolved, and appeal 4 (loaded 2026-12-10) is due on 2026-12-25.
    assert rows == [
        ("1", dt.date(2026, 12, 15), 5),
        ("3", dt.date(2026, 12, 15), 5),
    ]


def test_appeals_weekly_triage_counts(built_marts):
    rows = _query(
        built_marts,
        "select category, region_code, week_start, duplicate_predicted_count, overdue_count"
        " from marts.agg_appeals_weekly order by week_start, category",
    )
    # Appeals 1 and 3 are overdue on 2026-12-20 (see test_appeals_overdue_as_of_date).
    assert rows == [
        ("ЖКХ", "AST", dt.date(2026, 11, 30), 1, 1),
        ("дороги", "ALA", dt.date(2026, 11, 30), 0, 1),
        ("ЖКХ", "AST", dt.date(2026, 12, 7), 1, 0),
    ]


def test_media_signals_weekly_counts(built_marts):
    rows = _query(
        built_marts,
        "select week_start, threat_class, region_code, item_count, lexicon_tagged_count,"
        " model_tagged_count, kazakh_count from marts.agg_media_signals_weekly"
        " order by week_start",
    )
    assert rows == [
        (dt.date(2025, 12, 1), "fraud", "ALA", 2, 1, 1, 0),
        (dt.date(2025, 12, 8), "other", "UNK", 1, 0, 0, 1),
    ]


def test_emerging_terms_rate_ratio(built_marts):
    rows = _query(
        built_marts,
        "select term, is_term_pair, term_count, rate_ratio"
        " from marts.fct_emerging_terms order by term_count desc",
    )
    assert [row[:3] for row in rows] == [("мошен", False, 4), ("банк + мошен", True, 3)]
    assert rows[0][3] == pytest.approx(8.0)
    assert rows[1][3] == pytest.approx(4.0)


def test_fct_forecasts_latest_run(built_marts):
    rows = _query(
        built_marts,
        "select target, h3_cell, run_id, predicted, interval_width, risk_rank, top_feature"
        " from marts.fct_forecasts order by target, h3_cell",
    )
    assert rows == [
        ("t1", "cell_a", "new", 5.0, 3.0, 2, "mean_all"),
        ("t1", "cell_b", "new", 6.0, 3.0, 1, "mean_8"),
        ("t2", "cell_a", "other", 1.0, 3.0, 1, "week_of_year"),
    ]


def test_fct_model_backtests_rows(built_marts):
    rows = _query(
        built_marts,
        "select metric, metric_value from marts.fct_model_backtests order by metric",
    )
    assert rows == [("actual_total", 4.0), ("hit_rate_1pct", 0.25)]


def _fct_incidents(duckdb_path: Path) -> list[tuple]:
    return _query(
        duckdb_path,
        "select incident_key, incident_id, category, offense, loaded_at"
        " from marts.fct_incidents order by incident_key",
    )


def test_fct_incidents_incremental_rerun_and_update(built_root, tmp_path):
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    from jobs.marts import run_dbt

    # Work on a copy, so that the module's other tests keep the original lake.
    root = tmp_path / "copy"
    shutil.copytree(built_root / "lake", root / "lake")
    shutil.copy(built_root / "boljam.duckdb", root / "boljam.duckdb")
    profile = _duckdb_profile(root, root / "lake")
    duckdb_path = root / "boljam.duckdb"
    before = _fct_incidents(duckdb_path)
    # The staging views hold absolute lake paths, so they are rebuilt on the copy too.
    select = ["--select", "+fct_incidents", "--vars", BUILD_VARS]

    run_dbt(["run", *select], profile=profile)
    # Same keys, contents and loaded_at: nothing was deleted, inserted or rewritten.
    assert _fct_incidents(duckdb_path) == before

    # A late correction of h2 (now a robbery) and a new incident h7, loaded later.
    houston = root / "lake" / "silver" / "houston_crime"
    table = DeltaTable(str(houston))
    later = LOADED_AT + dt.timedelta(hours=1)
    corrected = [r for r in _houston_rows() if r["incident_id"] == "h2"][0]
    corrected.update(offense="robbery", category="street", _loaded_at=later)
    new = [r for r in _houston_rows() if r["incident_id"] == "h3"][0]
    new.update(incident_id="h7", _loaded_at=later, _row_hash="hash-h7")
    table.delete("incident_id = 'h2'")
    write_deltalake(
        str(houston),
        pa.Table.from_pylist([corrected, new], schema=pa.schema(table.schema().to_arrow())),
        mode="append",
    )

    run_dbt(["run", *select], profile=profile)
    after = {row[1]: row for row in _fct_incidents(duckdb_path)}
    assert len(after) == len(before) + 1
    assert after["h2"][2:4] == ("street", "robbery")
    assert after["h7"][2] == "property"
    unchanged = {row[1]: row for row in before if row[1] != "h2"}
    for incident_id, row in unchanged.items():
        assert after[incident_id] == row, f"{incident_id} changed"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["build"], None),
        (["build", "--target", "postgres"], "postgres"),
        (["run", "-t", "duckdb", "--select", "fct_incidents"], "duckdb"),
        (["build", "--target=postgres"], "postgres"),
    ],
)
def test_target_option_in_dbt_args(args, expected):
    from jobs.marts import _target_option

    assert _target_option(args) == expected


def test_postgres_environment_from_url():
    from jobs.marts import postgres_environment

    environment = postgres_environment("postgresql://analyst:s%40cret@127.0.0.1:55432/marts")
    assert environment["BOLJAM_PG_HOST"] == "127.0.0.1"
    assert environment["BOLJAM_PG_PORT"] == "55432"
    assert environment["BOLJAM_PG_USER"] == "analyst"
    assert environment["BOLJAM_PG_PASSWORD"] == "s@cret"
    assert environment["BOLJAM_PG_DATABASE"] == "marts"


def test_postgres_environment_rejects_other_scheme():
    from jobs.marts import postgres_environment

    with pytest.raises(ValueError, match="invalid PostgreSQL URL"):
        postgres_environment("mysql://boljam@127.0.0.1/boljam")


def test_profile_vars_merge_under_caller_vars():
    import json

    from jobs.marts import _with_profile_options
    from jobs.settings import DbtSettings, load_profile

    profile = load_profile("embedded").model_copy(
        update={"dbt": DbtSettings(vars={"kz_marts": True, "window": 3})}
    )
    command = _with_profile_options(["build", "--vars", "{window: 5, extra: x}"], profile)
    assert command[:1] == ["build"]
    assert command.count("--vars") == 1
    merged = json.loads(command[command.index("--vars") + 1])
    assert merged == {"kz_marts": True, "window": 5, "extra": "x"}
