"""Benchmark: dbt build of the marts on generated silver Delta tables.

It writes a houston_crime silver table of ``--rows`` generated incidents, with points
drawn from ``--points`` fixed places and times spread over ``--weeks`` weeks, and
one-row portland_calls and edinburgh_accidents tables. Then it runs ``dbt build`` on
them in a child process, so that the peak memory (max RSS) is the build's own, appends one
day's share of new incidents and times a second, incremental ``dbt build``. The second
build leaves out the unit tests, as the scheduled build of the boljam_transform DAG does,
because unit tests run on fixed fixtures and not on the data.

The baseline is the same SQL without dbt: every model and data test statement that the full
build executed (``target/run``), replayed in the build's completion order on one DuckDB
connection into a fresh database file. Unit tests run on fixtures, not on the data, and are
left out of the replay.

    .venv/bin/python bench/marts.py --rows 1000000

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Houston area from conf/sources.yml, shrunk so that every point is well inside it.
LAT_RANGE = (29.5, 30.1)
LON_RANGE = (-95.8, -95.0)
CATEGORIES = {"burglary": "property", "theft": "property", "robbery": "street", "murder": "violent"}
FIRST_DAY = dt.datetime(2010, 1, 1)


def generate_incidents(
    rows: int,
    points: int,
    weeks: int,
    seed: int,
    source: str,
    city: str,
    start: dt.datetime = FIRST_DAY,
    days: int | None = None,
    place_seed: int | None = None,
):
    """Return a silver incident table of ``rows`` generated rows as a pyarrow Table.

    The times span ``days`` days (default ``weeks`` weeks) from ``start``. The places are
    drawn from ``place_seed`` when given, so that a second call can reuse the places of
    an earlier one.
    """
    import h3
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from jobs.schemas import SILVER_INCIDENT_COMMON

    rng = np.random.default_rng(seed)
    place_rng = rng if place_seed is None else np.random.default_rng(place_seed)
    place_lat = place_rng.uniform(*LAT_RANGE, points)
    place_lon = place_rng.uniform(*LON_RANGE, points)
    place_cells = {}
    for resolution in (7, 8, 9):
        cells = [
            h3.latlng_to_cell(lat, lon, resolution)
            for lat, lon in zip(place_lat, place_lon, strict=True)
        ]
        place_cells[resolution] = np.array(cells)
    place = rng.integers(0, points, rows)
    offenses = np.array(list(CATEGORIES))
    offense = offenses[rng.integers(0, len(offenses), rows)]

    span_days = weeks * 7 if days is None else days
    seconds = rng.integers(0, span_days * 86400, rows)
    local = pd.to_datetime(start) + pd.to_timedelta(seconds, unit="s")
    # A repeated autumn hour is read as standard time, and a time in the skipped spring
    # hour moves to the first valid time after it.
    standard_time = np.zeros(rows, dtype=bool)
    utc = local.tz_localize(
        "America/Chicago", ambiguous=standard_time, nonexistent="shift_forward"
    ).tz_convert("UTC")
    loaded_at = pd.Timestamp.now(tz="UTC")

    columns = {
        "incident_id": np.arange(1, rows + 1).astype(str),
        "source": np.full(rows, source),
        "city": np.full(rows, city),
        "occurred_at_utc": utc,
        "occurred_at_local": local,
        "local_date": local.date,
        "timezone": np.full(rows, "America/Chicago"),
        "time_precision": np.full(rows, "hour"),
        "offense": offense,
        "category": pd.Series(offense).map(CATEGORIES).to_numpy(),
        "lat": place_lat[place],
        "lon": place_lon[place],
        "h3_r7": place_cells[7][place],
        "h3_r8": place_cells[8][place],
        "h3_r9": place_cells[9][place],
        "quality_flags": np.full(rows, ""),
        "_batch_id": np.full(rows, "bench"),
        "_loaded_at": pd.DatetimeIndex([loaded_at] * rows),
        "_row_hash": np.arange(1, rows + 1).astype(str),
    }
    return pa.Table.from_pydict(columns, schema=SILVER_INCIDENT_COMMON)


def with_text_columns(table, names: list[str]):
    """Append the source-specific columns, which silver stores as text, filled with 'x'."""
    import pyarrow as pa

    for name in names:
        table = table.append_column(pa.field(name, pa.string()), pa.array(["x"] * len(table)))
    return table


def write_lake(lake: Path, rows: int, points: int, weeks: int, seed: int) -> None:
    """Write the silver and gold tables that the dbt sources read under ``lake``.

    Only houston_crime is large. The other incident tables have one row, the appeal and
    text tables hold the mart tests' few fixture rows, and rejects, forecasts and backtests
    are empty.
    """
    import pyarrow as pa
    from deltalake import write_deltalake

    from jobs.schemas import GOLD_BACKTESTS, GOLD_FORECASTS, REJECTS

    silver = lake / "silver"
    houston = generate_incidents(rows, points, weeks, seed, "houston_crime", "houston")
    write_deltalake(
        str(silver / "houston_crime"),
        with_text_columns(houston, ["premise", "beat", "location", "address", "block"]),
    )
    portland = generate_incidents(1, 1, 1, seed, "portland_calls", "portland")
    write_deltalake(
        str(silver / "portland_calls"),
        with_text_columns(portland, ["call_group", "final_case_type", "case_desc", "census_tract"]),
    )
    edinburgh = with_text_columns(
        generate_incidents(1, 1, 1, seed, "edinburgh_accidents", "edinburgh"),
        ["road_type", "light_cond", "weather", "acc_type"],
    )
    for name in ("no_vehicle", "no_casualt", "speed_limi"):
        edinburgh = edinburgh.append_column(pa.field(name, pa.string()), pa.array(["1"]))
    write_deltalake(str(silver / "edinburgh_accidents"), edinburgh)
    write_deltalake(str(silver / "rejects"), REJECTS.empty_table())
    write_deltalake(str(lake / "gold" / "forecasts"), GOLD_FORECASTS.empty_table())
    write_deltalake(str(lake / "gold" / "backtests"), GOLD_BACKTESTS.empty_table())
    # The appeals and the text jobs' tables (triaged appeals, media items, emerging terms)
    # are small, so the mart tests' fixture rows serve as their source.
    sys.path.insert(0, str(ROOT / "tests"))
    from test_marts import _write_appeals, _write_districts, _write_text_tables

    _write_appeals(silver / "citizen_appeals")
    _write_districts(silver / "portland_districts")
    _write_text_tables(lake)


def append_day(lake: Path, rows: int, points: int, weeks: int, seed: int) -> int:
    """Append one day's share of ``rows`` as newly loaded houston incidents; return the count.

    The new incidents fall on the day after the generated weeks, at the same places.
    """
    import pyarrow as pa
    from deltalake import write_deltalake

    day_rows = max(1, rows // (weeks * 7))
    table = generate_incidents(
        day_rows, points, 1, seed + 1, "houston_crime", "houston",
        start=FIRST_DAY + dt.timedelta(weeks=weeks), days=1, place_seed=seed,
    )  # fmt: skip
    new_ids = pa.array([f"new-{number}" for number in range(day_rows)])
    table = table.set_column(table.schema.get_field_index("incident_id"), "incident_id", new_ids)
    table = with_text_columns(table, ["premise", "beat", "location", "address", "block"])
    write_deltalake(str(lake / "silver" / "houston_crime"), table, mode="append")
    return day_rows


def run_build(work: Path, unit_tests: bool = True) -> None:
    """Run ``dbt build`` on the lake under ``work``; the child process calls this.

    With ``unit_tests`` false the build leaves out the unit tests, as the scheduled build does.
    """
    from jobs.marts import run_dbt
    from jobs.settings import DbtSettings, load_profile

    profile = load_profile("embedded").model_copy(
        update={
            "lake_dir": str(work / "lake"),
            "var_dir": str(work / "var"),
            "dbt": DbtSettings(target="duckdb", duckdb_path=str(work / "boljam.duckdb")),
        }
    )
    command = ["build", "--quiet"]
    if not unit_tests:
        command += ["--exclude-resource-type", "unit_test"]
    run_dbt(command, profile=profile)


def replay_sql(work: Path) -> dict:
    """Replay the SQL of the last full build directly in DuckDB; return the statement counts.

    dbt writes each model's ``create table|view ... as`` statement and each data test's
    query to ``target/run``. Tables and views are created under a ``__dbt_tmp`` name and
    renamed by dbt afterwards, so the replay renames them too. Results complete in an order
    that respects dependencies, so replaying ``run_results.json`` in order is valid.
    """
    import re

    import duckdb

    from jobs.marts import delta_extension_path

    target = work / "var" / "dbt" / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    results = json.loads((target / "run_results.json").read_text())["results"]
    raw_dir = work / "raw"
    raw_dir.mkdir(exist_ok=True)
    # The same file name gives the same catalogue name ("boljam") that the SQL names.
    connection = duckdb.connect(
        str(raw_dir / "boljam.duckdb"),
        config={"autoinstall_known_extensions": False},
    )
    connection.execute(f"load '{delta_extension_path()}'")
    connection.execute("set TimeZone = 'UTC'")
    created = re.compile(r'create\s+(table|view)\s+("[^"]+"\."([^"]+)"\."([^"]+)__dbt_tmp")')
    counts = {"models": 0, "tests": 0, "failing_tests": 0}
    schemas = set()
    for result in results:
        node = manifest["nodes"].get(result["unique_id"])
        if node is None or node["resource_type"] not in {"model", "test"}:
            continue
        # dbt writes what it executed under run/ at the compiled file's relative path.
        relative = Path(node["compiled_path"]).relative_to(target / "compiled")
        sql_path = target / "run" / relative
        if not sql_path.exists():
            raise FileNotFoundError(f"{result['unique_id']}: no executed SQL at {sql_path}")
        sql = sql_path.read_text()
        if node["resource_type"] == "model" and node["schema"] not in schemas:
            connection.execute(f'create schema if not exists "{node["schema"]}"')
            schemas.add(node["schema"])
        if node["resource_type"] == "test":
            failures = connection.execute(sql).fetchone()[0]
            counts["tests"] += 1
            counts["failing_tests"] += int(failures != 0)
            continue
        connection.execute(sql)
        counts["models"] += 1
        match = created.search(sql)
        if match:
            kind, temporary, schema, name = match.groups()
            connection.execute(f'drop {kind} if exists "{schema}"."{name}"')
            connection.execute(f'alter {kind} {temporary} rename to "{name}"')
    connection.close()
    return counts


def count_rows(duckdb_path: Path) -> dict:
    import duckdb

    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        return {
            table: connection.execute(f"select count(*) from marts.{table}").fetchone()[0]
            for table in ("fct_incidents", "agg_incidents_h3_weekly")
        }


def run_child(*args: str) -> dict:
    """Run this script with ``args`` in a child process and return its JSON line."""
    completed = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="generated incidents; default 1000000"
    )
    parser.add_argument("--points", type=int, default=5_000, help="distinct places; default 5000")
    parser.add_argument("--weeks", type=int, default=52, help="weeks the times span; default 52")
    parser.add_argument("--seed", type=int, default=7, help="random seed; default 7")
    phases = ["generate", "build", "append", "raw", "rebuild"]
    parser.add_argument("--phase", choices=phases, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    # Each phase runs in its own child, started while this process is still small, because on
    # Linux a child's max RSS can count the memory of the parent that it was forked from.
    if args.phase:
        started = time.perf_counter()
        if args.phase == "generate":
            write_lake(args.work / "lake", args.rows, args.points, args.weeks, args.seed)
        elif args.phase == "append":
            append_day(args.work / "lake", args.rows, args.points, args.weeks, args.seed)
        elif args.phase == "raw":
            replayed = replay_sql(args.work)
        elif args.phase == "rebuild":
            run_build(args.work, unit_tests=False)
        else:
            run_build(args.work)
        seconds = time.perf_counter() - started
        max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        figures = {"seconds": round(seconds, 1), "max_rss_mb": round(max_rss_mb)}
        if args.phase == "raw":
            figures.update(replayed)
        print(json.dumps(figures))
        return

    with tempfile.TemporaryDirectory(prefix="boljam-bench-marts-") as folder:
        work = Path(folder)
        sizes = ["--rows", str(args.rows), "--points", str(args.points)]
        sizes += ["--weeks", str(args.weeks), "--seed", str(args.seed)]
        generated = run_child("--phase", "generate", "--work", str(work), *sizes)
        built = run_child("--phase", "build", "--work", str(work))
        raw = run_child("--phase", "raw", "--work", str(work))
        built_rows = count_rows(work / "boljam.duckdb")
        # fct_incidents and the two incident panels are incremental, so the second build
        # inserts the new day and rebuilds only the panel days and weeks it touches.
        run_child("--phase", "append", "--work", str(work), *sizes)
        rebuilt = run_child("--phase", "rebuild", "--work", str(work))
        figures = {
            "rows": args.rows,
            "points": args.points,
            "weeks": args.weeks,
            "generate_seconds": generated["seconds"],
            "dbt_build_seconds": built["seconds"],
            "dbt_build_max_rss_mb": built["max_rss_mb"],
            "raw_sql_seconds": raw["seconds"],
            "raw_sql_models": raw["models"],
            "raw_sql_tests": raw["tests"],
            "raw_sql_failing_tests": raw["failing_tests"],
            "build_to_raw_ratio": round(built["seconds"] / raw["seconds"], 2),
            "raw_sql_rows": count_rows(work / "raw" / "boljam.duckdb"),
            "dbt_incremental_build_seconds": rebuilt["seconds"],
            "dbt_incremental_build_excludes": "unit_test",
            "incremental_to_full_ratio": round(rebuilt["seconds"] / built["seconds"], 2),
            "full_build_rows": built_rows,
            "rows_after_incremental_build": count_rows(work / "boljam.duckdb"),
        }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
