"""One ingest at a time per source: an exclusive file lock beside the lake.

Two concurrent ingests of one source would both read the same watermark and land the same
rows twice, so the second one fails at once with ConcurrentIngestError.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class ConcurrentIngestError(RuntimeError):
    """Another process is ingesting the same source."""


@contextmanager
def source_lock(lock_dir: Path, source: str) -> Iterator[None]:
    """Hold the lock of ``source`` for the duration of the block."""
    # NOTE: flock works on a local or NFS lake folder only. On object storage, the DAG's
    # max_active_runs=1 is what keeps one ingest per source at a time.
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_dir / f"{source}.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise ConcurrentIngestError(
                f"source {source} is being ingested by process {holder}; retry when it ends"
            ) from error
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
