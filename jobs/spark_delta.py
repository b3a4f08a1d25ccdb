"""Delta Lake tables for Spark: delta-spark when the session has it, delta-rs otherwise.

Without delta-spark's JVM jars, Spark reaches Delta through ``DeltaDataSource``, a PySpark
Python data source registered under the short name ``boljam_delta``. It uses delta-rs
(``deltalake``) and pyarrow:

* read: the driver lists the add actions of the requested table version and plans one input
  partition per data file. Each task reads its Parquet file with pyarrow, adds the partition
  columns from the add action's ``partitionValues``, drops rows marked in the file's deletion
  vector and yields Arrow record batches.
* write: each task writes Parquet files into the table folder (one file per Delta partition
  it sees) and returns their add actions. The driver commits the add actions of all tasks in
  one Delta transaction, so readers see all of the write or none of it. On failure the
  written files are deleted and the table keeps its version.

Tables written here are plain Delta protocol tables that delta-rs reads back (the tests check
this). NOTE: reading them with delta-spark is untested, because its jars cannot be fetched on
the build machines.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

logger = logging.getLogger(__name__)

SOURCE_NAME = "boljam_delta"
WRITE_MODES = ("append", "overwrite")
# Directory name Hive and Spark use for a null partition value.
NULL_PARTITION_DIR = "__HIVE_DEFAULT_PARTITION__"
_DELTA_SPARK_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
_DELTA_SPARK_CLASS = "io.delta.tables.DeltaTable"
_READ_BATCH_ROWS = 65_536


class DeltaSourceError(RuntimeError):
    """A Delta table cannot be read or written through the Python data source."""


class DeltaWriteModeError(DeltaSourceError):
    """The requested save mode is not one the data source supports."""


class DeltaSchemaMismatchError(DeltaSourceError):
    """The DataFrame's columns do not match the existing table's schema or partitioning."""


class DeltaTableNotFoundError(DeltaSourceError):
    """No Delta table exists at the requested path."""


class UnsupportedDeltaFeatureError(DeltaSourceError):
    """The table uses a Delta reader feature that this data source does not implement."""


# -- public API -------------------------------------------------------------------------------


def has_delta_spark(spark: SparkSession) -> bool:
    """Return whether the session has delta-spark's SQL extension and its JVM classes load."""
    try:
        extensions = spark.conf.get("spark.sql.extensions", "") or ""
    except Exception:  # noqa: BLE001 - an unset key raises on some Spark versions
        extensions = ""
    if _DELTA_SPARK_EXTENSION not in extensions:
        return False
    try:
        jvm = spark.sparkContext._jvm
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        loader.loadClass(_DELTA_SPARK_CLASS)
    except Exception as error:  # noqa: BLE001 - py4j raises its own error types
        logger.warning(
            "delta-spark extension is set but %s does not load: %s", _DELTA_SPARK_CLASS, error
        )
        return False
    return True


def register_delta_source(spark: SparkSession) -> None:
    """Register ``DeltaDataSource`` on the session under the short name ``boljam_delta``.

    The module is pickled by value, so executors need only pyarrow and deltalake, not this
    project on their ``PYTHONPATH``.
    """
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    spark.dataSource.register(delta_source_class())


def read_delta(spark: SparkSession, path: str | Path, version: int | None = None) -> DataFrame:
    """Read a Delta table, at ``version`` when given, else at its latest version.

    Raises ``DeltaTableNotFoundError`` when no Delta table exists at ``path``.
    """
    from deltalake import DeltaTable

    location = _table_location(path)
    if not DeltaTable.is_deltatable(location):
        raise DeltaTableNotFoundError(f"no Delta table at {location}; check the path")
    if has_delta_spark(spark):
        reader = spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(location)
    register_delta_source(spark)
    reader = spark.read.format(SOURCE_NAME)
    if version is not None:
        reader = reader.option("version", str(version))
    return reader.load(location)


def write_delta(
    df: DataFrame,
    path: str | Path,
    mode: str = "append",
    partition_by: list[str] | None = None,
) -> int:
    """Write ``df`` to a Delta table in one commit and return the table's new version.

    ``mode`` is ``append`` or ``overwrite``. The table is created when it does not exist.
    ``partition_by`` sets the partition columns of a new table or of an overwrite, and must
    match the existing table's partition columns on append. Left as None, an append or an
    overwrite keeps the table's partition columns.
    """
    from deltalake import DeltaTable

    location = _table_location(path)
    spark = df.sparkSession
    if has_delta_spark(spark):
        if mode not in WRITE_MODES:
            raise DeltaWriteModeError(
                f"unsupported Delta write mode {mode!r}; use one of {WRITE_MODES}"
            )
        writer = df.write.format("delta").mode(mode)
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.save(location)
    else:
        # Planning here first raises the typed errors in the caller's process; the data
        # source plans again in its driver-side worker.
        _plan_write(location, df.schema, mode, partition_by)
        register_delta_source(spark)
        writer = df.write.format(SOURCE_NAME).mode(mode)
        if partition_by:
            writer = writer.option("partition_by", json.dumps(list(partition_by)))
        writer.save(location)
    # NOTE: the version is read after the commit, so a concurrent writer's later commit
    # would be reported instead. The Spark data source API returns nothing from commit().
    version = DeltaTable(location).version()
    logger.info("Wrote Delta table %s version %s (mode %s)", location, version, mode)
    return version


# -- data source ------------------------------------------------------------------------------


@functools.cache
def delta_source_class() -> type:
    """Return the ``DeltaDataSource`` class, defining it on first use.

    The classes subclass pyspark's data source bases, so they are defined here and not at
    module level: importing this module then does not import pyspark.
    """
    from pyspark.sql.datasource import (
        DataSource,
        DataSourceArrowWriter,
        DataSourceReader,
        InputPartition,
        WriterCommitMessage,
    )

    class DeltaDataSource(DataSource):
        """Python data source over delta-rs. Options: ``path``, ``version``, ``partition_by``."""

        @classmethod
        def name(cls) -> str:
            return SOURCE_NAME

        def _path(self) -> str:
            path = self.options.get("path")
            if not path:
                raise DeltaSourceError("missing Delta table path; pass it to load() or save()")
            return path

        def schema(self) -> StructType:
            from deltalake import DeltaTable

            table = DeltaTable(self._path(), version=self._version())
            return _spark_schema(table)

        def reader(self, schema: StructType) -> DataSourceReader:
            return DeltaReader(self._path(), self._version(), schema)

        def writer(self, schema: StructType, overwrite: bool) -> DataSourceArrowWriter:
            raw = self.options.get("partition_by")
            partition_by = json.loads(raw) if raw else None
            return DeltaWriter(self._path(), schema, overwrite, partition_by)

        def _version(self) -> int | None:
            raw = self.options.get("version")
            if raw is None or raw == "":
                return None
            try:
                return int(raw)
            except ValueError as error:
                raise DeltaSourceError(
                    f"invalid Delta table version {raw!r}; expected an integer"
                ) from error

    class DeltaReader(DataSourceReader):
        """Plans one input partition per data file of one table version and reads them."""

        def __init__(self, path: str, version: int | None, schema: StructType) -> None:
            self.path = path
            self.version = version
            self.schema = schema

        def partitions(self) -> list[InputPartition]:
            from deltalake import DeltaTable

            table = DeltaTable(self.path, version=self.version)
            _check_reader_features(table)
            return [InputPartition(data_file) for data_file in _list_data_files(table)]

        def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
            return _read_data_file(partition.value, self.schema)

    @dataclass
    class DeltaCommitMessage(WriterCommitMessage):
        """Add actions of the files one write task created, as plain dicts."""

        actions: list[dict[str, Any]] = field(default_factory=list)

    class DeltaWriter(DataSourceArrowWriter):
        """Writes Parquet files on the executors and commits them in one Delta transaction."""

        def __init__(
            self,
            path: str,
            schema: StructType,
            overwrite: bool,
            partition_by: list[str] | None,
        ) -> None:
            self.path = path
            mode = "overwrite" if overwrite else "append"
            self.plan = _plan_write(path, schema, mode, partition_by)

        def write(self, iterator: Iterator[pa.RecordBatch]) -> DeltaCommitMessage:
            files = _PartitionedParquetFiles(self.plan)
            try:
                for batch in iterator:
                    files.write(batch)
                actions = files.close()
            except BaseException:
                files.delete()
                raise
            return DeltaCommitMessage(actions=actions)

        def commit(self, messages: list[DeltaCommitMessage | None]) -> None:
            actions = [
                action for message in messages if message is not None for action in message.actions
            ]
            _commit_actions(self.plan, actions)

        def abort(self, messages: list[DeltaCommitMessage | None]) -> None:
            removed = _delete_written_files(self.plan, messages)
            logger.warning(
                "Aborted write to Delta table %s; deleted %d written files", self.path, removed
            )

    return DeltaDataSource


# -- helpers: schema --------------------------------------------------------------------------


def _table_location(path: str | Path) -> str:
    """Return ``path`` as a string, made absolute when it is a local path."""
    text = str(path)
    if "://" in text:
        return text
    return str(Path(text).expanduser().resolve())


def _spark_schema(table: Any) -> StructType:
    """Convert a Delta table schema to a Spark StructType (Delta stores Spark's JSON form)."""
    from pyspark.sql.types import StructType

    return StructType.fromJson(json.loads(table.schema().to_json()))


def _check_reader_features(table: Any) -> None:
    protocol = table.protocol()
    features = set(protocol.reader_features or [])
    if "columnMapping" in features:
        # TODO: map logical to physical column names (delta.columnMapping.physicalName) to
        # read tables with column mapping; delta-rs can write none, delta-spark can.
        raise UnsupportedDeltaFeatureError(
            f"Delta table {table.table_uri} uses column mapping, which the boljam_delta "
            "data source cannot read; read it with delta-spark or deltalake"
        )


@dataclass(frozen=True)
class _WritePlan:
    """Plan of one write, decided on the driver before any task runs."""

    path: str
    mode: str
    # Delta schema JSON of the written files: the table's own schema on append.
    schema_json: str
    partition_by: list[str]
    # "create" a new table, commit a "transaction" on it, or "replace" its metadata.
    commit_kind: str
    configuration: dict[str, str | None]
    # Part of every file name this write creates, so abort() can find all of them.
    write_id: str = field(default_factory=lambda: uuid.uuid4().hex)


def _plan_write(
    path: str, schema: StructType, mode: str, partition_by: list[str] | None
) -> _WritePlan:
    """Check a write against the existing table and decide how to commit it.

    Raises ``DeltaWriteModeError`` for a mode other than append or overwrite and
    ``DeltaSchemaMismatchError`` when an append does not fit the table's columns or partitions.
    """
    from deltalake import DeltaTable

    if mode not in WRITE_MODES:
        raise DeltaWriteModeError(
            f"unsupported Delta write mode {mode!r}; use one of {WRITE_MODES}"
        )
    location = _table_location(path)
    columns = [f.name for f in schema.fields]
    for name in partition_by or []:
        if name not in columns:
            raise DeltaSchemaMismatchError(
                f"partition column {name!r} is not a DataFrame column; columns are {columns}"
            )
    if not DeltaTable.is_deltatable(location):
        return _WritePlan(location, mode, schema.json(), list(partition_by or []), "create", {})
    table = DeltaTable(location)
    existing = list(table.metadata().partition_columns)
    configuration = dict(table.metadata().configuration)
    if mode == "overwrite":
        requested = list(partition_by) if partition_by is not None else existing
        # delta-rs keeps the partition columns and the protocol on an overwrite transaction,
        # so a change of either replaces the table's metadata instead.
        replace = requested != existing or _needs_new_protocol(table, schema)
        kind = "replace" if replace else "transaction"
        return _WritePlan(location, mode, schema.json(), requested, kind, configuration)
    if partition_by is not None and list(partition_by) != existing:
        raise DeltaSchemaMismatchError(
            f"partition columns {partition_by} differ from table {location} partition columns "
            f"{existing}; append with partition_by={existing} or overwrite"
        )
    table_schema = _spark_schema(table)
    expected = {f.name: f.dataType.simpleString() for f in table_schema.fields}
    actual = {f.name: f.dataType.simpleString() for f in schema.fields}
    if expected != actual:
        raise DeltaSchemaMismatchError(
            f"DataFrame columns {actual} do not match Delta table {location} columns {expected}"
        )
    return _WritePlan(location, mode, table_schema.json(), existing, "transaction", configuration)


def _needs_new_protocol(table: Any, schema: StructType) -> bool:
    """Return whether ``schema`` has timestamp_ntz columns the table's protocol lacks."""
    from pyspark.sql.types import TimestampNTZType

    has_ntz = any(isinstance(f.dataType, TimestampNTZType) for f in schema.fields)
    return has_ntz and "timestampNtz" not in set(table.protocol().reader_features or [])


def _commit_actions(plan: _WritePlan, actions: list[dict[str, Any]]) -> None:
    """Commit the add actions of all write tasks in one Delta transaction."""
    from deltalake import DeltaTable, Schema
    from deltalake.transaction import AddAction, create_table_with_add_actions

    add_actions = [
        AddAction(
            path=action["path"],
            size=action["size"],
            partition_values=action["partition_values"],
            modification_time=action["modification_time"],
            data_change=True,
            stats=action["stats"],
        )
        for action in actions
    ]
    schema = Schema.from_json(plan.schema_json)
    partition_by = plan.partition_by or None
    if plan.commit_kind == "transaction":
        DeltaTable(plan.path).create_write_transaction(
            add_actions, mode=plan.mode, schema=schema, partition_by=partition_by
        )
    else:
        # "create" fails if another writer created the table since the plan was made.
        create_mode = "overwrite" if plan.commit_kind == "replace" else "error"
        create_table_with_add_actions(
            plan.path,
            schema,
            add_actions,
            mode=create_mode,
            partition_by=partition_by,
            configuration=plan.configuration or None,
        )
    logger.info(
        "Committed %d files to Delta table %s (mode %s, %s)",
        len(add_actions),
        plan.path,
        plan.mode,
        plan.commit_kind,
    )


# -- helpers: read ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeltaDataFile:
    """One data file of a table version: the input of one read task."""

    uri: str
    partition_values: dict[str, Any]
    deleted_rows: tuple[int, ...] = ()


def _list_data_files(table: Any) -> list[DeltaDataFile]:
    import pyarrow as pa

    actions = pa.table(table.get_add_actions(flatten=False))
    root = table.table_uri
    deleted = _deleted_rows_by_file(table)
    partitions = []
    has_partition_struct = "partition" in actions.column_names
    for row in actions.to_pylist():
        uri = _data_file_uri(root, row["path"])
        values = row["partition"] if has_partition_struct else {}
        partitions.append(
            DeltaDataFile(
                uri=uri, partition_values=dict(values or {}), deleted_rows=deleted.get(uri, ())
            )
        )
    return partitions


def _deleted_rows_by_file(table: Any) -> dict[str, tuple[int, ...]]:
    """Map each data file URI that has a deletion vector to its deleted row indices.

    NOTE: untested, because delta-rs 1.6 rewrites files instead of writing deletion vectors
    and no delta-spark is available to write a table that has them.
    """
    features = set(table.protocol().reader_features or [])
    if "deletionVectors" not in features:
        return {}
    import pyarrow as pa
    import pyarrow.compute as pc

    vectors = pa.table(table.deletion_vectors())
    deleted: dict[str, tuple[int, ...]] = {}
    for filepath, keep in zip(
        vectors.column("filepath").to_pylist(), vectors.column("selection_vector"), strict=True
    ):
        mask = pc.invert(keep.values)
        indices = pc.indices_nonzero(mask).to_pylist()
        deleted[_local_path(filepath)] = tuple(indices)
    return deleted


def _data_file_uri(root: str, add_path: str) -> str:
    """Resolve an add action's path (a URL-encoded relative path or an absolute URI).

    Local files come back as plain paths, other storage as URIs.
    """
    if "://" in add_path:
        return _local_path(add_path)
    return _local_path(root).rstrip("/") + "/" + urllib.parse.unquote(add_path)


def _local_path(uri: str) -> str:
    """Turn a ``file://`` URI into a plain path; return other URIs unchanged."""
    if uri.startswith("file://"):
        return urllib.parse.unquote(urllib.parse.urlparse(uri).path)
    return uri


def _open_input(uri: str) -> Any:
    import pyarrow.fs as pafs

    if "://" not in uri:
        return pafs.LocalFileSystem().open_input_file(uri)
    filesystem, inner = pafs.FileSystem.from_uri(uri)
    return filesystem.open_input_file(inner)


def _read_data_file(
    partition: DeltaDataFile | None, schema: StructType
) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql.pandas.types import to_arrow_schema

    if partition is None:
        # Spark plans one partition with value None for a table without data files.
        return
    target = to_arrow_schema(schema, timezone="UTC")
    deleted = set(partition.deleted_rows)
    with _open_input(partition.uri) as handle:
        parquet = pq.ParquetFile(handle)
        file_columns = set(parquet.schema_arrow.names)
        read_columns = [
            f.name
            for f in target
            if f.name in file_columns and f.name not in partition.partition_values
        ]
        offset = 0
        for batch in parquet.iter_batches(batch_size=_READ_BATCH_ROWS, columns=read_columns):
            rows = batch.num_rows
            columns = []
            for target_field in target:
                name = target_field.name
                if name in partition.partition_values:
                    value = partition.partition_values[name]
                    column = pa.array([value] * rows, type=target_field.type)
                elif name in file_columns:
                    column = _cast_column(batch.column(name), target_field.type)
                else:
                    # A column added to the table after this file was written.
                    column = pa.nulls(rows, type=target_field.type)
                columns.append(column)
            out = pa.RecordBatch.from_arrays(columns, schema=target)
            if deleted:
                keep = [offset + i not in deleted for i in range(rows)]
                out = out.filter(pa.array(keep))
            offset += rows
            yield out


def _cast_column(column: pa.Array, target: pa.DataType) -> pa.Array:
    import pyarrow as pa

    if column.type.equals(target):
        return column
    # Timestamps from other writers may be INT96 (nanoseconds); Spark keeps microseconds.
    safe = not pa.types.is_timestamp(target)
    return column.cast(target, safe=safe)


# -- helpers: write ---------------------------------------------------------------------------


class _PartitionedParquetFiles:
    """Parquet files of one write task, one per Delta partition value combination."""

    def __init__(self, plan: _WritePlan) -> None:
        from deltalake import Schema

        self.root = plan.path
        self.partition_by = plan.partition_by
        self.arrow_schema = _delta_arrow_schema(Schema.from_json(plan.schema_json))
        self.data_schema = self.arrow_schema
        for name in self.partition_by:
            self.data_schema = self.data_schema.remove(self.data_schema.get_field_index(name))
        self.writers: dict[tuple, Any] = {}
        self.files: dict[tuple, dict[str, Any]] = {}
        self.task_id = _task_partition_id()
        self.write_id = plan.write_id

    def write(self, batch: pa.RecordBatch) -> None:
        import pyarrow as pa

        table = pa.Table.from_batches([batch]).select(self.arrow_schema.names)
        table = table.cast(self.arrow_schema)
        _check_not_null(table, self.arrow_schema)
        if not self.partition_by:
            self._append((), table)
            return
        for key, group in _split_by_partition(table, self.partition_by):
            self._append(key, group.drop_columns(self.partition_by))

    def _append(self, key: tuple, table: pa.Table) -> None:
        import pyarrow.parquet as pq

        if key not in self.writers:
            relative = self._relative_path(key)
            local = os.path.join(self.root, relative)
            os.makedirs(os.path.dirname(local), exist_ok=True)
            self.files[key] = {"relative": relative, "local": local, "stats": _FileStats()}
            self.writers[key] = pq.ParquetWriter(local, self.data_schema, compression="snappy")
        table = table.select(self.data_schema.names)
        self.writers[key].write_table(table)
        self.files[key]["stats"].update(table)

    def _relative_path(self, key: tuple) -> str:
        name = f"part-{self.task_id:05d}-{self.write_id}-{uuid.uuid4().hex[:12]}.snappy.parquet"
        parts = [
            f"{column}={_partition_dir_value(value)}"
            for column, value in zip(self.partition_by, key, strict=True)
        ]
        return "/".join([*parts, name])

    def close(self) -> list[dict[str, Any]]:
        """Close every file and return its add action as a dict."""
        actions = []
        for key, writer in self.writers.items():
            writer.close()
            info = self.files[key]
            stat = os.stat(info["local"])
            partition_values = [_partition_string(value) for value in key]
            actions.append(
                {
                    # delta-rs URL-encodes the path when it writes the log entry.
                    "path": info["relative"],
                    "size": stat.st_size,
                    "partition_values": dict(zip(self.partition_by, partition_values, strict=True)),
                    "modification_time": int(stat.st_mtime * 1000),
                    "stats": info["stats"].to_json(),
                }
            )
        self.writers.clear()
        return actions

    def delete(self) -> None:
        """Close and delete every file this task wrote, after a failure."""
        for writer in self.writers.values():
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - the file is deleted next anyway
                pass
        for info in self.files.values():
            _remove_file(info["local"])


def _delete_written_files(plan: _WritePlan, messages: list[Any]) -> int:
    """Delete the files of a failed write and return how many were deleted.

    The commit messages list the files of finished tasks. Tasks whose message Spark dropped
    after the job failed are found by the write id in their file names.
    """
    root = Path(plan.path)
    paths = {
        root / action["path"]
        for message in messages
        if message is not None
        for action in message.actions
    }
    paths.update(root.rglob(f"part-*-{plan.write_id}-*.parquet"))
    for path in paths:
        _remove_file(str(path))
    # NOTE: a task killed while it writes can still leave a file after this; no Delta log
    # entry refers to it, and VACUUM removes it.
    return len(paths)


def _check_not_null(table: pa.Table, schema: pa.Schema) -> None:
    for target in schema:
        if not target.nullable and table.column(target.name).null_count > 0:
            raise DeltaSchemaMismatchError(
                f"column {target.name!r} is not nullable in the Delta table but the DataFrame "
                f"has {table.column(target.name).null_count} null values in it"
            )


# Maximum length of a string whose minimum and maximum go into file statistics. Longer
# values would have to be truncated, and delta-spark and delta-rs truncate differently.
_MAX_STATS_STRING = 32


class _FileStats:
    """Per-file statistics in the Delta log format: row count, null counts, min and max.

    Min and max cover integer, date, string and timestamp-with-zone columns. Timestamps are
    written at millisecond precision, as delta-spark and delta-rs write them, with the min
    rounded down and the max rounded up so file skipping never drops a matching file.
    """

    def __init__(self) -> None:
        self.rows = 0
        self.null_count: dict[str, int] = {}
        self.min: dict[str, Any] = {}
        self.max: dict[str, Any] = {}
        self.skipped: set[str] = set()

    def update(self, table: pa.Table) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        self.rows += table.num_rows
        for field_ in table.schema:
            name = field_.name
            column = table.column(name)
            if pa.types.is_nested(field_.type):
                continue
            self.null_count[name] = self.null_count.get(name, 0) + column.null_count
            if name in self.skipped or not _has_min_max(field_.type):
                continue
            if column.null_count == len(column):
                continue
            bounds = pc.min_max(column).as_py()
            low, high = bounds["min"], bounds["max"]
            if pa.types.is_string(field_.type) and max(len(low), len(high)) > _MAX_STATS_STRING:
                self.skipped.add(name)
                self.min.pop(name, None)
                self.max.pop(name, None)
                continue
            self.min[name] = low if name not in self.min else min(self.min[name], low)
            self.max[name] = high if name not in self.max else max(self.max[name], high)

    def to_json(self) -> str:
        return json.dumps(
            {
                "numRecords": self.rows,
                "minValues": {k: _stats_value(v, upper=False) for k, v in self.min.items()},
                "maxValues": {k: _stats_value(v, upper=True) for k, v in self.max.items()},
                "nullCount": self.null_count,
            }
        )


def _has_min_max(data_type: pa.DataType) -> bool:
    import pyarrow as pa

    if pa.types.is_timestamp(data_type):
        # NOTE: timestamp_ntz min and max are left out because delta-spark and delta-rs
        # format them differently in the log.
        return data_type.tz is not None
    return (
        pa.types.is_integer(data_type)
        or pa.types.is_date(data_type)
        or pa.types.is_string(data_type)
    )


def _stats_value(value: Any, upper: bool) -> Any:
    import datetime as dt

    if isinstance(value, dt.datetime):
        utc = value.astimezone(dt.UTC)
        millis = utc.replace(microsecond=utc.microsecond // 1000 * 1000)
        if upper and millis != utc:
            millis += dt.timedelta(milliseconds=1)
        return millis.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis.microsecond // 1000:03d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _delta_arrow_schema(schema: Any) -> pa.Schema:
    import pyarrow as pa

    return pa.schema(schema.to_arrow())


def _split_by_partition(table: pa.Table, columns: list[str]) -> Iterator[tuple[tuple, pa.Table]]:
    """Yield (partition key, rows) for each distinct combination of partition column values."""
    import pyarrow as pa

    index_name = "__boljam_row_index"
    indexed = table.select(columns).append_column(index_name, pa.array(range(table.num_rows)))
    groups = indexed.group_by(columns, use_threads=False).aggregate([(index_name, "list")])
    keys = groups.select(columns).to_pylist()
    for key, indices in zip(keys, groups.column(f"{index_name}_list").to_pylist(), strict=True):
        yield tuple(key[c] for c in columns), table.take(indices)


def _partition_string(value: Any) -> str | None:
    """Serialise a partition value as the Delta protocol's partitionValues strings do."""
    import datetime as dt
    from decimal import Decimal

    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, str, Decimal)):
        return str(value)
    raise DeltaSourceError(
        f"unsupported partition value {value!r} of type {type(value).__name__}; "
        "partition by string, integer, boolean, decimal, date or timestamp columns"
    )


def _partition_dir_value(value: Any) -> str:
    text = _partition_string(value)
    if text is None or text == "":
        return NULL_PARTITION_DIR
    return urllib.parse.quote(text, safe="")


def _task_partition_id() -> int:
    from pyspark import TaskContext

    context = TaskContext.get()
    return context.partitionId() if context is not None else 0


def _remove_file(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
