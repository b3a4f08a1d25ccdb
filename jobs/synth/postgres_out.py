"""PostgreSQL output: each agency database becomes one schema of one PostgreSQL database.

A schema is loaded as ``<agency>__partial`` and renamed to ``<agency>`` at the end, in the
same transaction that drops the previous one. Rows go in through the ADBC PostgreSQL
driver, which sends Arrow columns with COPY in binary format. Primary keys, unique and
foreign keys are added after the load, which checks them once instead of row by row.

The column types follow the SQLite declarations: TEXT stays TEXT, INTEGER becomes BIGINT
and REAL becomes DOUBLE PRECISION, so values compare equal with the SQLite output.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pyarrow as pa

from jobs.synth.sqlite_out import METADATA_TABLE, ArrowTableWriter, column_types

POSTGRES_TYPES = {"TEXT": "TEXT", "INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION"}
URL_SCHEMES = ("postgresql", "postgres")
_TABLE_NAME = re.compile(r"CREATE TABLE (\w+)\s*\(")
_REFERENCE = re.compile(r"REFERENCES (\w+) \((\w+)\)")
_LOADING_SUFFIX = "__partial"


def check_url(database_url: str) -> str:
    """Return the URL if its scheme is postgresql:// or postgres://, else raise ValueError."""
    scheme = urlsplit(database_url).scheme
    if scheme not in URL_SCHEMES:
        raise ValueError(
            f"unsupported database URL scheme {scheme!r}: give postgresql://user@host:port/db"
        )
    return database_url


def agency_url(database_url: str, agency: str) -> str:
    """Return ``database_url`` with the agency's schema as search_path (libpq ``options``).

    The source catalogue names tables without a schema, so this URL points its queries at
    the agency's tables.
    """
    parts = urlsplit(check_url(database_url))
    query = parse_qsl(parts.query, keep_blank_values=True)
    options = [value for key, value in query if key == "options"]
    query = [(key, value) for key, value in query if key != "options"]
    query.append(("options", " ".join(options + [f"-csearch_path={agency}"])))
    return urlunsplit(parts._replace(query=urlencode(query)))


def catalogue_environment(database_url: str, agencies) -> dict[str, str]:
    """Return the BOLJAM_KZ_<AGENCY>_URL variables that point the kz catalogue at PostgreSQL."""
    return {
        f"BOLJAM_KZ_{agency.upper()}_URL": agency_url(database_url, agency) for agency in agencies
    }


def _split_columns(body: str) -> list[str]:
    """Split the text between the brackets of CREATE TABLE at top-level commas."""
    parts, depth, current = [], 0, []
    for character in body:
        if character == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += {"(": 1, ")": -1}.get(character, 0)
        current.append(character)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def postgres_ddl(statement: str, schema: str) -> tuple[str, list[str], list[str]]:
    """Translate a SQLite CREATE TABLE into PostgreSQL without constraints.

    Returns the CREATE TABLE, the primary and unique key statements and the foreign key
    statements, each qualified with ``schema``.
    """
    match = _TABLE_NAME.search(statement)
    if match is None:
        raise ValueError(f"not a CREATE TABLE statement: {statement[:60]!r}")
    table = match.group(1)
    body = statement[match.end() : statement.rindex(")")]
    qualified = f'"{schema}"."{table}"'
    columns, keys, foreign = [], [], []
    for definition in _split_columns(body):
        name, declared, rest = (definition.split(None, 2) + [""])[:3]
        column = f'"{name}" {POSTGRES_TYPES[declared]}'
        if "NOT NULL" in rest or "PRIMARY KEY" in rest:
            column += " NOT NULL"
        columns.append(column)
        if "PRIMARY KEY" in rest:
            keys.append(f'ALTER TABLE {qualified} ADD PRIMARY KEY ("{name}")')
        elif "UNIQUE" in rest:
            keys.append(f'ALTER TABLE {qualified} ADD UNIQUE ("{name}")')
        reference = _REFERENCE.search(rest)
        if reference:
            target, target_column = reference.groups()
            foreign.append(
                f'ALTER TABLE {qualified} ADD FOREIGN KEY ("{name}") '
                f'REFERENCES "{schema}"."{target}" ("{target_column}")'
            )
    return f"CREATE TABLE {qualified} ({', '.join(columns)})", keys, foreign


class PostgresDatabase(ArrowTableWriter):
    """One agency schema being written. ``close()`` adds the keys and publishes it."""

    def __init__(
        self,
        database_url: str,
        schema: str,
        ddl: list[str],
        metadata: list[tuple[str, str]],
        batch_rows: int,
    ):
        import adbc_driver_postgresql.dbapi

        self.schema = schema
        self.loading = schema + _LOADING_SUFFIX
        self.batch_rows = batch_rows
        self.rows: dict[str, int] = {}
        metadata_ddl = f"CREATE TABLE {METADATA_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        statements = [metadata_ddl, *ddl]
        self.types = column_types(statements)
        self.connection = adbc_driver_postgresql.dbapi.connect(check_url(database_url))
        self.cursor = self.connection.cursor()
        self._execute(f'DROP SCHEMA IF EXISTS "{self.loading}" CASCADE')
        self._execute(f'CREATE SCHEMA "{self.loading}"')
        self.keys: list[str] = []
        self.foreign_keys: list[str] = []
        for statement in statements:
            create, keys, foreign = postgres_ddl(statement, self.loading)
            self._execute(create)
            self.keys.extend(keys)
            self.foreign_keys.extend(foreign)
        self._ingest(
            METADATA_TABLE,
            {"key": [key for key, _ in metadata], "value": [value for _, value in metadata]},
        )

    def _execute(self, statement: str) -> None:
        self.cursor.execute(statement)

    def _write(self, table: str, reader: pa.RecordBatchReader) -> None:
        self.cursor.adbc_ingest(table, reader, mode="append", db_schema_name=self.loading)

    def close(self) -> dict[str, int]:
        """Add the keys, replace the agency's schema, commit and return the row counts."""
        for statement in self.keys + self.foreign_keys:
            self._execute(statement)
        self._execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        self._execute(f'ALTER SCHEMA "{self.loading}" RENAME TO "{self.schema}"')
        self.connection.commit()
        self.cursor.close()
        self.connection.close()
        return dict(self.rows)
