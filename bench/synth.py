"""Benchmark ``boljam synth``: wall time, rows per second and peak memory of one run.

Usage: python bench/synth.py --incidents 10000000 [--seed 1] [--jobs 2] [--out DIR]
       [--database-url postgresql://user@host:port/db]

The last line of the output is one JSON object. Peak RSS is the larger of this process
and its largest writer process (``resource.getrusage``, Linux reports kilobytes).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jobs.synth.cli import generate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000_000, help="default 10000000")
    parser.add_argument("--seed", type=int, default=1, help="default 1")
    parser.add_argument("--jobs", type=int, default=2, help="writer processes; default 2")
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder; default a temporary folder"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary output folder")
    parser.add_argument("--real-data", type=Path, default=None, help="gazetteer folder")
    parser.add_argument(
        "--database-url",
        default=None,
        help="write the agency databases into this PostgreSQL database; default SQLite files",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    out = args.out or Path(tempfile.mkdtemp(prefix="boljam-synth-bench-"))
    started = time.perf_counter()
    manifest = generate(
        args.seed,
        args.incidents,
        out,
        jobs=args.jobs,
        real_dir=args.real_data,
        database_url=args.database_url,
    )
    seconds = time.perf_counter() - started
    rows = sum(sum(tables.values()) for tables in manifest["rows"].values())
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "incidents": args.incidents,
        "jobs": args.jobs,
        "agency_output": manifest["agency_output"],
        "seconds": round(seconds, 1),
        "rows": rows,
        "rows_per_second": round(rows / seconds),
        "cpu_seconds": round(
            own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime, 1
        ),
        "peak_rss_mb": round(max(own.ru_maxrss, children.ru_maxrss) / 1024),
        "output_mb": round(sum(f["bytes"] for f in manifest["files"].values()) / 2**20),
        "cpu_count": os.cpu_count(),
    }
    if args.out is None and not args.keep:
        shutil.rmtree(out)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
