"""CLI and task entry point: land one source into bronze, then merge it into silver."""

from __future__ import annotations

import logging
from dataclasses import asdict

from jobs.ingest.bronze import land_sql_source
from jobs.ingest.files import land_file_source
from jobs.ingest.lock import source_lock
from jobs.ingest.silver import load_silver
from jobs.settings import load_profile
from jobs.sources import get_source

logger = logging.getLogger(__name__)


def ingest_source(name: str, stage: str = "all") -> dict:
    """Run the bronze and/or silver stage of source ``name``; return counts for logs and XCom."""
    profile = load_profile()
    source = get_source(name)
    result: dict = {"source": name}
    with source_lock(profile.lake / "_locks", name):
        if stage in ("bronze", "all"):
            if source.kind == "files":
                landed = land_file_source(source, profile)
                result["bronze"] = {
                    "rows": sum(item.rows for item in landed),
                    "files": [asdict(item) for item in landed],
                }
            else:
                result["bronze"] = asdict(land_sql_source(source, profile))
        if stage in ("silver", "all"):
            batches = load_silver(source, profile)
            result["silver"] = [
                {key: value for key, value in asdict(batch).items() if key != "processed_at"}
                for batch in batches
            ]
    return result


def add_arguments(parser) -> None:
    parser.add_argument("--source", required=True, help="source name from conf/sources.yml")
    parser.add_argument(
        "--stage",
        choices=("bronze", "silver", "all"),
        default="all",
        help="which stage to run (default: all)",
    )


def run(args) -> int:
    result = ingest_source(args.source, args.stage)
    logger.info("ingest result: %s", result)
    return 0
