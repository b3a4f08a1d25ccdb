"""Merge pending bronze batches of a source into its silver table and the rejects table.

For every batch: rows read = silver inserts + updates + exact duplicates + rejects. The
batch is recorded as processed only after the silver and rejects commits, and both merges
are idempotent, so a rerun after a crash neither loses nor duplicates a row.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import numpy as np

from jobs import delta_io
from jobs.ingest.records import record_schema, standardise_records
from jobs.ingest.standardise import KnownHashes, standardise_table
from jobs.privacy import load_key
from jobs.schemas import REJECTS, SILVER_INCIDENT_COMMON
from jobs.settings import Profile
from jobs.sources import Source

logger = logging.getLogger(__name__)

STATE_TABLE = "silver_batches"

# Bronze rows standardised and merged at a time; bounds the memory of one batch.
CHUNK_ROWS = int(os.environ.get("BOLJAM_SILVER_CHUNK_ROWS", "500000"))


class ReconciliationError(RuntimeError):
    """The row counts of a batch do not add up."""


@dataclass(frozen=True)
class BatchCounts:
    source: str
    batch_id: str
    rows_read: int
    inserted: int
    updated: int
    duplicates: int
    rejected: int
    silver_version: int
    processed_at: datetime

    def check(self) -> None:
        total = self.inserted + self.updated + self.duplicates + self.rejected
        if total != self.rows_read:
            raise ReconciliationError(
                f"source {self.source} batch {self.batch_id}: read {self.rows_read} rows but "
                f"inserted {self.inserted} + updated {self.updated} + duplicates "
                f"{self.duplicates} + rejected {self.rejected} = {total}"
            )


def silver_schema(source: Source):
    import pyarrow as pa

    extra = [
        pa.field(column, pa.string())
        for column in source.keep_columns
        if source.personal_data.get(column) != "drop"
    ]
    return pa.schema(list(SILVER_INCIDENT_COMMON) + extra)


def state_schema():
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("source", pa.string()),
            pa.field("batch_id", pa.string()),
            pa.field("rows_read", pa.int64()),
            pa.field("inserted", pa.int64()),
            pa.field("updated", pa.int64()),
            pa.field("duplicates", pa.int64()),
            pa.field("rejected", pa.int64()),
            pa.field("silver_version", pa.int64()),
            pa.field("processed_at", pa.timestamp("us", tz="UTC")),
        ]
    )


def bronze_batches(bronze_path) -> list[str]:
    """Return the batch ids committed to bronze, oldest first, from the commit metadata."""
    import json

    from deltalake import DeltaTable

    if not delta_io.table_exists(bronze_path):
        return []
    batches = []
    for commit in reversed(DeltaTable(str(bronze_path)).history()):
        raw = commit.get(delta_io.STATE_KEY)
        if raw is not None:
            batches.append(json.loads(raw)["batch_id"])
    return batches


def processed_batches(profile: Profile, source: Source) -> set[str]:
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    path = profile.table_path("_state", STATE_TABLE)
    if not delta_io.table_exists(path):
        return set()
    table = DeltaTable(str(path)).to_pyarrow_table(columns=["source", "batch_id"])
    mine = table.filter(pc.equal(table["source"], source.name))
    return set(mine["batch_id"].to_pylist())


def _known_hashes(silver_path) -> KnownHashes:
    from deltalake import DeltaTable

    if not delta_io.table_exists(silver_path):
        return KnownHashes()
    table = DeltaTable(str(silver_path)).to_pyarrow_table(columns=["incident_id", "_row_hash"])
    return KnownHashes(table["_row_hash"].combine_chunks(), table["incident_id"].combine_chunks())


def _bronze_chunks(bronze_path, batch_id: str):
    """Yield the rows of one bronze batch as Arrow tables of at most CHUNK_ROWS rows."""
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

    dataset = DeltaTable(str(bronze_path)).to_pyarrow_dataset()
    pending, size = [], 0
    # A scan on threads reads ahead while the chunk is standardised: with the defaults it
    # held over 1 GB of decoded bronze for a 10M-row batch, with use_threads=False 0.3 GB.
    batches = dataset.to_batches(
        filter=ds.field("_batch_id") == batch_id,
        batch_size=min(CHUNK_ROWS, 131_072),
        use_threads=False,
        fragment_readahead=1,
        batch_readahead=2,
    )
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        size += batch.num_rows
        if size >= CHUNK_ROWS:
            table = _compact(pending)
            pending, size = [], 0
            yield table
    if pending:
        yield _compact(pending)


def _compact(batches):
    """Return ``batches`` as one table in buffers of its own.

    The Parquet reader's batches are slices of a decoded row group (up to 1M rows in
    bronze), so keeping the slices would keep whole row groups in memory.
    """
    import pyarrow as pa

    return pa.Table.from_batches(batches).combine_chunks()


def _to_arrow(frame, schema):
    import pyarrow as pa

    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


class SilverKeys:
    """The keys of a silver table while this process is the only one that wrote it.

    The source lock makes this run the only writer of the source's silver table. When the
    table had no rows at the start of the run, its keys are exactly those this run has
    appended. A chunk whose keys are all new is then appended instead of merged, because
    the merge would insert every row after a scan and a join of the whole table.

    The keys are kept as their sorted 64-bit pandas hashes, 8 bytes a key. Equal keys have
    equal hashes, so a collision can only send a chunk to the merge, never skip one.
    """

    def __init__(self, silver_path):
        from deltalake import DeltaTable

        empty = (
            not delta_io.table_exists(silver_path) or not DeltaTable(str(silver_path)).file_uris()
        )
        self.hashes = np.empty(0, dtype=np.uint64) if empty else None

    @staticmethod
    def _hash(keys) -> np.ndarray:
        from pandas.core.util.hashing import hash_array

        return hash_array(keys.to_numpy(zero_copy_only=False), categorize=False)

    def all_new(self, keys) -> bool:
        """Return True when none of ``keys`` is in the table; False when that is unknown."""
        if self.hashes is None:
            return False
        hashed = self._hash(keys)
        found = np.searchsorted(self.hashes, hashed)
        found = np.minimum(found, max(len(self.hashes) - 1, 0))
        return not len(self.hashes) or not bool(np.any(self.hashes[found] == hashed))

    def add(self, keys) -> None:
        # Both parts are sorted, so the stable sort (timsort) merges them in linear time.
        merged = np.concatenate([self.hashes, np.sort(self._hash(keys))])
        self.hashes = np.sort(merged, kind="stable")

    def forget(self) -> None:
        self.hashes = None


def _merge_silver(
    silver_path, table, key: str = "incident_id", known: SilverKeys | None = None
) -> tuple[int, int, int]:
    """Merge rows by ``key``; a changed row hash replaces the older version.

    ``known`` tracks the table's keys while this run is its only writer since it was
    empty. A chunk with only new keys is then appended, which gives the merge's result.
    """
    from deltalake import DeltaTable, write_deltalake

    delta_io.ensure_table(silver_path, table.schema)
    if known is not None and table.num_rows and known.all_new(table[key]):
        write_deltalake(str(silver_path), table, mode="append")
        known.add(table[key])
        return table.num_rows, 0, DeltaTable(str(silver_path)).version()
    if known is not None:
        known.forget()
    target = DeltaTable(str(silver_path))
    if not target.file_uris():
        # An empty table cannot match any key, so an append gives the merge's result.
        write_deltalake(str(silver_path), table, mode="append")
        return table.num_rows, 0, DeltaTable(str(silver_path)).version()
    metrics = (
        DeltaTable(str(silver_path))
        .merge(table, predicate=f"t.{key} = s.{key}", source_alias="s", target_alias="t")
        .when_matched_update_all(predicate="t._row_hash <> s._row_hash")
        .when_not_matched_insert_all()
        .execute()
    )
    inserted = int(metrics.get("num_target_rows_inserted", 0))
    updated = int(metrics.get("num_target_rows_updated", 0))
    return inserted, updated, DeltaTable(str(silver_path)).version()


def _merge_rejects(rejects_path, table) -> None:
    """Insert rejects not yet stored, so that a rerun of the same batch adds nothing."""
    from deltalake import DeltaTable

    delta_io.ensure_table(rejects_path, REJECTS)
    if table.num_rows == 0:
        return
    (
        DeltaTable(str(rejects_path))
        .merge(
            table,
            predicate=(
                "t.source = s.source and t.batch_id = s.batch_id "
                "and t.reason_code = s.reason_code and t.raw_record = s.raw_record"
            ),
            source_alias="s",
            target_alias="t",
        )
        .when_not_matched_insert_all()
        .execute()
    )


def _record_batch(profile: Profile, counts: BatchCounts) -> None:
    import pyarrow as pa
    from deltalake import write_deltalake

    path = profile.table_path("_state", STATE_TABLE)
    path.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([asdict(counts)], schema=state_schema())
    write_deltalake(str(path), table, mode="append")


def load_silver(source: Source, profile: Profile) -> list[BatchCounts]:
    """Process every bronze batch of ``source`` that silver has not recorded yet."""
    import pyarrow as pa
    bronze_path = profile.table_path("bronze", source.name)
    silver_path = profile.table_path("silver", source.silver_table)
    rejects_path = profile.table_path("silver", "rejects")
    done = processed_batches(profile, source)
    pending = [batch for batch in bronze_batches(bronze_path) if batch not in done]
    key = load_key() if source.personal_data else None
    silver_keys = SilverKeys(silver_path)
    results = []
    for batch_id in pending:
        totals = {"rows_read": 0, "inserted": 0, "updated": 0, "duplicates": 0, "rejected": 0}
        reasons: dict[str, int] = {}
        version = delta_io.table_version(silver_path) or 0
        hashes = _known_hashes(silver_path) if source.duplicate_content == "reject" else None
        for chunk in _bronze_chunks(bronze_path, batch_id):
            loaded_at = chunk["_loaded_at"][0].as_py()
            if source.record_type == "record":
                frame = chunk.to_pandas()
                result = standardise_records(frame, source, batch_id, loaded_at, key)
                silver = _to_arrow(result.silver, record_schema(result.silver, source))
                rejects = _to_arrow(result.rejects, REJECTS)
                key_column = "record_id"
            else:
                result = standardise_table(
                    chunk, source, batch_id, loaded_at, known_hashes=hashes, pseudonym_key=key
                )
                silver = result.silver.cast(silver_schema(source))
                rejects, key_column = result.rejects, "incident_id"
            inserted, updated, version = _merge_silver(silver_path, silver, key_column, silver_keys)
            _merge_rejects(rejects_path, rejects)
            if source.duplicate_content == "reject":
                hashes.add(silver["_row_hash"], silver[key_column])
            totals["rows_read"] += chunk.num_rows
            totals["inserted"] += inserted
            totals["updated"] += updated
            totals["duplicates"] += silver.num_rows - inserted - updated
            totals["rejected"] += rejects.num_rows
            for reason in rejects["reason_code"].to_pylist():
                reasons[reason] = reasons.get(reason, 0) + 1
            del chunk, silver, rejects, result
            # The Arrow allocator caches freed chunks, which with the delta-rs write buffers
            # raised the peak from chunk to chunk. So the cached memory goes back to the OS.
            pa.default_memory_pool().release_unused()
        counts = BatchCounts(
            source=source.name,
            batch_id=batch_id,
            silver_version=version,
            processed_at=datetime.now(UTC),
            **totals,
        )
        counts.check()
        _record_batch(profile, counts)
        logger.info(
            "source %s batch %s: read %s = inserted %s + updated %s + duplicates %s + "
            "rejected %s %s (silver version %s)",
            source.name,
            batch_id,
            counts.rows_read,
            counts.inserted,
            counts.updated,
            counts.duplicates,
            counts.rejected,
            reasons,
            version,
        )
        results.append(counts)
    if not pending:
        logger.info("source %s: no pending bronze batches", source.name)
    return results
