"""Benchmark: land generated rows from SQLite (and PostgreSQL) into bronze and silver.

In the same run it times the baseline, the fastest plain copy of the same rows from the
same database into one Parquet file (ADBC Arrow reader, then pyarrow). Each phase runs in
its own process so that its peak memory (max RSS) is its own. The timings start after
the phase has imported its modules, and the import time is reported on its own.

    .venv/bin/python bench/ingest.py --rows 1000000 [--postgres-url URL]

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SOURCE = {
    "kind": "sql",
    "description": "Generated offences for the ingestion benchmark.",
    "connection": {"url_env": "BOLJAM_BENCH_URL"},
    "table": "offences",
    "primary_key": "offence_id",
    "watermark": "offence_id",
    "city": "almaty",
    "timezone": "Asia/Almaty",
    "timestamp": {"columns": ["occurred_at"], "format": "%Y-%m-%d %H:%M:%S", "zone": "utc",
                  "precision": "minute"},
    "coordinates": {"x": "lon", "y": "lat"},
    "area": {"lon_min": 76.7, "lat_min": 43.1, "lon_max": 77.2, "lat_max": 43.4},
    "category": {"column": "kind", "mapping": {"theft": "property", "robbery": "street",
                                               "assault": "violent", "fraud": "fraud"}},
    "keep_columns": ["premise", "district"],
}


def generate_table(rows: int, seed: int, first_id: int = 1):
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    seconds = rng.integers(0, 2 * 365 * 86400, rows)
    at = np.datetime64("2024-01-01T00:00:00") + seconds.astype("timedelta64[s]")
    kinds = np.array(["theft", "robbery", "assault", "fraud"])[rng.integers(0, 4, rows)]
    return pa.table(
        {
            "offence_id": np.arange(first_id, first_id + rows, dtype="int64"),
            "occurred_at": np.char.replace(np.datetime_as_string(at, unit="s"), "T", " ")
            .astype(object),
            "kind": kinds.astype(object),
            "lon": rng.uniform(76.8, 77.1, rows).round(6),
            "lat": rng.uniform(43.15, 43.35, rows).round(6),
            "premise": np.array(["street", "flat", "shop", "yard"])[rng.integers(0, 4, rows)]
            .astype(object),
            "district": np.array(["Almaly", "Bostandyk", "Medeu", "Auezov"])[
                rng.integers(0, 4, rows)
            ].astype(object),
        }
    )


def write_sqlite(path: Path, rows: int, seed: int) -> None:
    import adbc_driver_sqlite.dbapi

    batch = 500_000
    with adbc_driver_sqlite.dbapi.connect(str(path)) as connection:
        cursor = connection.cursor()
        cursor.execute(
            "create table offences (offence_id integer primary key, occurred_at text, kind text,"
            " lon real, lat real, premise text, district text)"
        )
        for start in range(0, rows, batch):
            size = min(batch, rows - start)
            cursor.adbc_ingest("offences", generate_table(size, seed + start, start + 1), "append")
        connection.commit()


def write_postgres(url: str, rows: int, seed: int) -> None:
    import adbc_driver_postgresql.dbapi

    batch = 500_000
    with adbc_driver_postgresql.dbapi.connect(url) as connection:
        cursor = connection.cursor()
        cursor.execute("drop table if exists offences")
        cursor.execute(
            "create table offences (offence_id bigint primary key, occurred_at text, kind text,"
            " lon double precision, lat double precision, premise text, district text)"
        )
        for start in range(0, rows, batch):
            size = min(batch, rows - start)
            cursor.adbc_ingest("offences", generate_table(size, seed + start, start + 1), "append")
        connection.commit()


def import_modules(*names: str) -> float:
    """Import ``names`` and return the seconds taken, so that phases time their work only.

    Without compiled bytecode (PYTHONDONTWRITEBYTECODE=1 and no __pycache__ in .venv) these
    imports alone take seconds of CPU, which would hide the work of a no-op run.
    """
    import importlib

    started = time.perf_counter()
    for name in names:
        importlib.import_module(name)
    return time.perf_counter() - started


def phase_copy(url: str, out: Path) -> dict:
    imported = import_modules(
        "pyarrow.parquet", "adbc_driver_sqlite.dbapi", "adbc_driver_postgresql.dbapi",
        "jobs.ingest.bronze",
    )
    import pyarrow.parquet as pq

    from jobs.ingest.bronze import _connect

    started, cpu_started = time.perf_counter(), time.process_time()
    with _connect(url) as connection:
        cursor = connection.cursor()
        cursor.execute("select * from offences")
        table = cursor.fetch_arrow_table()
    pq.write_table(table, out)
    return {"seconds": time.perf_counter() - started, "import_seconds": imported,
            "cpu_seconds": time.process_time() - cpu_started, "rows": table.num_rows}


def phase_land(source_name: str) -> dict:
    imported = import_modules(
        "pyarrow.compute", "pyarrow.dataset", "pandas", "deltalake", "h3",
        "adbc_driver_sqlite.dbapi", "adbc_driver_postgresql.dbapi", "jobs.ingest.run",
    )
    from jobs.ingest.run import ingest_source

    started, cpu_started = time.perf_counter(), time.process_time()
    result = ingest_source(source_name)
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "import_seconds": imported,
            "cpu_seconds": time.process_time() - cpu_started,
            "bronze_rows": result["bronze"]["rows"], "silver": result["silver"]}


def run_phase(args: argparse.Namespace) -> None:
    if args.phase == "copy":
        figures = phase_copy(args.url, Path(args.out))
    else:
        figures = phase_land("bench")
    figures["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


def child(env: dict, *extra: str) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, *extra], env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"phase {extra} failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def bench_database(kind: str, url: str, rows: int, work: Path) -> dict:
    profile = {
        "name": "bench", "lake_dir": str(work / kind / "lake"),
        "agency_db_dir": str(work), "landing_dir": str(work / "landing"),
        "var_dir": str(work / kind), "real_data_dir": str(work),
        "mlflow": {"tracking_uri": f"sqlite:///{work / 'mlflow.db'}",
                   "artifact_root": str(work / "artifacts")},
    }
    profile_file = work / f"{kind}-profile.yaml"
    profile_file.write_text(yaml.safe_dump(profile))
    catalogue = work / f"{kind}-sources.yml"
    catalogue.write_text(yaml.safe_dump({"sources": {"bench": SOURCE}}))
    env = dict(
        os.environ,
        BOLJAM_PROFILE_FILE=str(profile_file),
        BOLJAM_SOURCES=str(catalogue),
        BOLJAM_BENCH_URL=url,
        BOLJAM_PSEUDONYM_KEY="bench-" + "0" * 32,
    )
    copy = child(env, "--phase", "copy", "--url", url, "--out", str(work / f"{kind}.parquet"))
    land = child(env, "--phase", "land")
    noop = child(env, "--phase", "land")
    return {
        "plain_copy_seconds": round(copy["seconds"], 3),
        "plain_copy_cpu_seconds": round(copy["cpu_seconds"], 3),
        "plain_copy_max_rss_mb": round(copy["max_rss_mb"]),
        "landing_seconds": round(land["seconds"], 3),
        "landing_cpu_seconds": round(land["cpu_seconds"], 3),
        "landing_max_rss_mb": round(land["max_rss_mb"]),
        "landing_ratio_to_copy": round(land["seconds"] / copy["seconds"], 2),
        "noop_seconds": round(noop["seconds"], 3),
        "noop_cpu_seconds": round(noop["cpu_seconds"], 3),
        "landing_import_seconds": round(land["import_seconds"], 3),
        "silver_inserted": sum(batch["inserted"] for batch in land["silver"]),
        "silver_rejected": sum(batch["rejected"] for batch in land["silver"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows to generate (default 1000000)"
    )
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument(
        "--postgres-url", default=None,
        help="also benchmark a PostgreSQL source at this URL (default: SQLite only)",
    )
    parser.add_argument("--phase", choices=("copy", "land"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run_phase(args)
        return

    results = {"rows": args.rows, "machine": f"{os.cpu_count()} cores"}
    with tempfile.TemporaryDirectory(prefix="boljam-bench-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        write_sqlite(work / "bench.sqlite", args.rows, args.seed)
        results["generate_seconds"] = round(time.perf_counter() - started, 1)
        results["sqlite"] = bench_database("sqlite", f"sqlite:///{work / 'bench.sqlite'}",
                                           args.rows, work)
        if args.postgres_url:
            write_postgres(args.postgres_url, args.rows, args.seed)
            results["postgres"] = bench_database("postgres", args.postgres_url, args.rows, work)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
