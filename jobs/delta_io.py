"""Small helpers over delta-rs (``deltalake``) used by the driver-side jobs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

# Key of the custom commit metadata that carries job state (watermarks, batch ids).
STATE_KEY = "boljam.state"


def table_exists(path: Path | str) -> bool:
    from deltalake import DeltaTable

    return DeltaTable.is_deltatable(str(path))


def table_version(path: Path | str) -> int | None:
    """Return the current version of the Delta table at ``path``, or None when absent."""
    from deltalake import DeltaTable

    if not table_exists(path):
        return None
    return DeltaTable(str(path)).version()


def latest_state(path: Path | str) -> dict | None:
    """Return the newest job state stored in a commit of the table, or None.

    Job state rides in the commit's custom metadata, so it becomes visible in the same
    atomic step as the rows it describes: a crash before the commit leaves both unchanged.
    """
    from deltalake import DeltaTable

    if not table_exists(path):
        return None
    for commit in DeltaTable(str(path)).history():
        raw = commit.get(STATE_KEY)
        if raw is not None:
            return json.loads(raw)
    return None


def commit_properties(state: dict):
    from deltalake import CommitProperties

    return CommitProperties(custom_metadata={STATE_KEY: json.dumps(state, sort_keys=True)})


def ensure_table(path: Path | str, schema, partition_by: list[str] | None = None) -> None:
    """Create an empty Delta table with ``schema`` unless one exists."""
    from deltalake import DeltaTable

    if not table_exists(path):
        Path(path).mkdir(parents=True, exist_ok=True)
        DeltaTable.create(str(path), schema=schema, partition_by=partition_by, mode="ignore")
        logger.info("created Delta table %s", path)
