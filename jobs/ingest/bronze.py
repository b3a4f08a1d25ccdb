"""Land new rows of a SQL source into its append-only bronze Delta table.

Every column is landed as text, exactly as the source returns it, plus load metadata.
The high-water mark of the incremental column is stored in the same commit as the rows,
so a crash before the commit re-reads the rows and a crash after it never re-lands them.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from jobs import delta_io
from jobs.schemas import LOAD_METADATA
from jobs.settings import Profile
from jobs.sources import Source

logger = logging.getLogger(__name__)


class SourceReadError(RuntimeError):
    """The source database could not be read."""


class SchemaDriftError(RuntimeError):
    """A source column changed its type, or a key column vanished."""


@dataclass(frozen=True)
class BronzeResult:
    source: str
    batch_id: str | None
    rows: int
    version: int | None
    watermark: int | str | None
    new_columns: tuple[str, ...] = ()


def new_batch_id(source: str, now: datetime) -> str:
    return f"{source}-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def _columns(connection, table: str) -> list[str]:
    """Return the column names of ``table`` from an empty result set."""
    cursor = connection.cursor()
    try:
        cursor.execute(f'select * from "{table}" where 1 = 0')
        cursor.fetchall()
        columns = [item[0] for item in cursor.description or []]
    except Exception as error:  # ADBC drivers raise their own error classes
        raise SourceReadError(f"cannot read the columns of table {table!r}: {error}") from error
    finally:
        cursor.close()
    if not columns:
        raise SourceReadError(f"table {table!r} has no columns")
    return columns


def source_column_types(connection, dialect: str, table: str) -> dict[str, str]:
    """Return column -> declared type of ``table`` as the source database states it."""
    cursor = connection.cursor()
    try:
        if dialect == "sqlite":
            cursor.execute(f'pragma table_info("{table}")')
            return {row[1]: (row[2] or "").lower() for row in cursor.fetchall()}
        # Only the table the query reads: the first of that name on the search path, so a
        # same-named table in another schema does not mix its columns in.
        cursor.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_name = $1 and table_schema = ("
            "select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where c.oid = to_regclass(quote_ident($1))) order by ordinal_position",
            [table],
        )
        return {name: kind.lower() for name, kind in cursor.fetchall()}
    finally:
        cursor.close()


def check_schema_drift(source: Source, previous: dict[str, str] | None, current: dict[str, str]):
    """Raise SchemaDriftError on a changed type or a vanished key; return the new columns."""
    if not previous:
        return ()
    for column in (source.primary_key, source.watermark):
        if column and column not in current:
            raise SchemaDriftError(
                f"source {source.name}: key column {column!r} (type {previous.get(column)!r}) "
                f"is gone from table {source.table!r}; restore it or update conf/sources.yml"
            )
    for column, old_type in previous.items():
        new_type = current.get(column)
        if new_type is not None and new_type != old_type:
            raise SchemaDriftError(
                f"source {source.name}: column {column!r} of table {source.table!r} changed "
                f"type from {old_type!r} to {new_type!r}; check the source and re-land it"
            )
    vanished = sorted(set(previous) - set(current))
    if vanished:
        logger.warning(
            "source %s: columns %s are gone from table %s; bronze keeps them as nulls",
            source.name,
            vanished,
            source.table,
        )
    added = tuple(column for column in current if column not in previous)
    if added:
        logger.warning(
            "source %s: new columns %s in table %s are added to bronze",
            source.name,
            list(added),
            source.table,
        )
    return added


def _connect(url: str):
    """Open an ADBC DB-API connection for a sqlite:/// or postgresql:// SQLAlchemy URL."""
    if url.startswith("sqlite:///"):
        import adbc_driver_sqlite.dbapi

        return adbc_driver_sqlite.dbapi.connect(url[len("sqlite:///") :])
    if url.startswith(("postgresql://", "postgresql+psycopg2://", "postgres://")):
        import adbc_driver_postgresql.dbapi

        return adbc_driver_postgresql.dbapi.connect(url.replace("+psycopg2", "", 1))
    raise SourceReadError(f"unsupported connection URL scheme in {url.split(':', 1)[0]!r}")


def build_query(source: Source, columns: list[str], after, upper, dialect: str) -> tuple[str, list]:
    """Return the query of every column as text with the watermark in (after, upper].

    Rows come in watermark order. SQLite gets the bounds as parameters. PostgreSQL gets
    them as literals, because the ADBC PostgreSQL driver streams a result through COPY
    only for a query without parameters. With parameters it reads the whole result into
    memory (6.3 GB for 10 million rows in bench/ingest.py).
    """
    selected = ", ".join(f'cast("{name}" as text) as "{name}"' for name in columns)
    query = f'select {selected} from "{source.table}"'
    if not source.watermark:
        return query, []
    bounds = [upper] if after is None else [after, upper]
    if dialect == "sqlite":
        lower_mark, upper_mark = ("?", "?")
        params = bounds
    else:
        lower_mark = None if after is None else _postgres_literal(after)
        upper_mark = _postgres_literal(upper)
        params = []
    mark = f'"{source.watermark}"'
    condition = f"{mark} <= {upper_mark}"
    if after is not None:
        condition = f"{mark} > {lower_mark} and {condition}"
    return f"{query} where {condition} order by {mark}", params


def _postgres_literal(value) -> str:
    """Return a watermark value as a PostgreSQL literal that the column's type takes."""
    if isinstance(value, bool):
        raise SourceReadError(f"unsupported watermark type bool: {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, (datetime, date)):
        value = value.isoformat()
    if not isinstance(value, str):
        raise SourceReadError(f"unsupported watermark type {type(value).__name__}: {value!r}")
    # An untyped string literal takes the type of the column it is compared with.
    return "'" + value.replace("'", "''") + "'"


def _upper_watermark(connection, source: Source):
    """Return the source's current maximum watermark, read before the rows themselves.

    Reading rows only up to this value keeps the stored high-water mark exact even when
    the source receives new rows while the batch is being read.
    """
    cursor = connection.cursor()
    try:
        cursor.execute(f'select max("{source.watermark}") from "{source.table}"')
        return cursor.fetchone()[0]
    finally:
        cursor.close()


def encode_watermark(value) -> dict | None:
    """Return a JSON-safe form of a watermark value that keeps its type."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SourceReadError(f"unsupported watermark type {type(value).__name__}: {value!r}")
    return {"type": type(value).__name__, "value": value}


def decode_watermark(encoded):
    if encoded is None:
        return None
    if not isinstance(encoded, dict):
        # Commits written before watermarks carried their type hold the bare value.
        return encoded
    kind, value = encoded["type"], encoded["value"]
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    return {"int": int, "float": float, "str": str}[kind](value)


def row_hashes(batch, exclude: tuple[str, ...] = ()):
    """Return a 16-hex-digit hash of each row's values, leaving out ``exclude`` columns.

    The hash is ``pandas.util.hash_pandas_object(frame, index=False)`` of the row values,
    which silver compares across runs, so it must not change. For text columns it is
    computed here from Arrow: each distinct value is hashed once, as pandas does.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    from pandas.core.util.hashing import combine_hash_arrays, hash_array

    from jobs.ingest.arrow_text import hex_strings

    names = [name for name in batch.schema.names if name not in exclude]
    columns = [batch.column(name) for name in names]
    if not columns or not all(pa.types.is_string(column.type) for column in columns):
        frame = batch.select(names).to_pandas()
        hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        return hex_strings(hashed, 16)

    def column_hashes(column):
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        encoded = pc.dictionary_encode(column)
        distinct = encoded.dictionary.to_numpy(zero_copy_only=False)
        # pandas factorizes a text column, hashes each distinct value, and gives a missing
        # value the maximum uint64.
        per_value = hash_array(distinct, categorize=False) if len(distinct) else distinct
        codes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
        result = np.full(len(codes), np.iinfo(np.uint64).max, dtype=np.uint64)
        present = codes >= 0
        result[present] = per_value[codes[present]]
        return result

    hashed = combine_hash_arrays((column_hashes(column) for column in columns), len(columns))
    return hex_strings(hashed, 16)


def land_sql_source(source: Source, profile: Profile, now: datetime | None = None) -> BronzeResult:
    """Read rows newer than the stored watermark and append them to bronze in one commit."""
    import pyarrow as pa
    from deltalake import WriterProperties, write_deltalake

    now = now or datetime.now(UTC)
    url = source.connection.resolve_url(profile)
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    bronze_path = profile.table_path("bronze", source.name)
    state = delta_io.latest_state(bronze_path) or {}
    after = decode_watermark(state.get("watermark"))
    batch_id = new_batch_id(source.name, now)
    source_object = f"{dialect}:{source.table}"
    loaded_at = pa.scalar(now, pa.timestamp("us", tz="UTC"))
    landed = {"rows": 0}

    def with_metadata(reader):
        for batch in reader:
            if batch.num_rows == 0:
                continue
            size = batch.num_rows
            extra = {
                "_batch_id": pa.repeat(pa.scalar(batch_id, pa.string()), size),
                "_loaded_at": pa.repeat(loaded_at, size),
                "_source": pa.repeat(pa.scalar(source.name, pa.string()), size),
                "_source_object": pa.repeat(pa.scalar(source_object, pa.string()), size),
                "_row_hash": row_hashes(batch, exclude=(source.primary_key,)),
            }
            arrays = list(batch.columns) + [extra[field.name] for field in LOAD_METADATA]
            landed["rows"] += size
            yield pa.RecordBatch.from_arrays(arrays, schema=output_schema)

    try:
        connection = _connect(url)
    except Exception as error:  # ADBC drivers raise their own error classes
        raise SourceReadError(f"cannot connect to source {source.name}: {error}") from error
    try:
        columns = _columns(connection, source.table)
        column_types = source_column_types(connection, dialect, source.table)
        new_columns = check_schema_drift(source, state.get("source_schema"), column_types)
        output_schema = pa.schema(
            [pa.field(name, pa.string()) for name in columns]
            + [field.with_nullable(True) for field in LOAD_METADATA]
        )
        upper = _upper_watermark(connection, source) if source.watermark else None
        if source.watermark and (upper is None or (after is not None and upper <= after)):
            logger.info("source %s: no new rows after watermark %s", source.name, after)
            return BronzeResult(source.name, None, 0, delta_io.table_version(bronze_path), after)
        query, params = build_query(source, columns, after, upper, dialect)
        cursor = connection.cursor()
        if dialect == "sqlite":
            # The driver's default of 1,024 rows a batch makes the per-batch work (hashing,
            # metadata columns) dominate; 65,536 rows of text stay a few MB.
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": "65536"})
        cursor.execute(query, params or None)
        Path(bronze_path).mkdir(parents=True, exist_ok=True)
        write_deltalake(
            str(bronze_path),
            pa.RecordBatchReader.from_batches(
                output_schema, with_metadata(cursor.fetch_record_batch())
            ),
            mode="append",
            schema_mode="merge",
            # Silver reads a batch back in chunks, and a reader keeps a whole decoded row
            # group in memory. The default of 1,048,576 rows kept about 200 MB of bronze text.
            writer_properties=WriterProperties(max_row_group_size=131_072, compression="SNAPPY"),
            commit_properties=delta_io.commit_properties(
                {
                    "batch_id": batch_id,
                    "watermark": encode_watermark(upper),
                    "source_schema": column_types,
                }
            ),
        )
    finally:
        connection.close()
    version = delta_io.table_version(bronze_path)
    logger.info(
        "source %s: landed %s rows in bronze batch %s (version %s, watermark %s)",
        source.name,
        landed["rows"],
        batch_id,
        version,
        upper,
    )
    return BronzeResult(source.name, batch_id, landed["rows"], version, upper, new_columns)
