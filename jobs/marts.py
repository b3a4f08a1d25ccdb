"""Run the dbt project in ``dbt/`` (staging, intermediate and marts) on the silver lake.

dbt runs in this process through ``dbt.cli.main.dbtRunner``. The paths that
``dbt/profiles.yml`` reads with ``env_var()`` are set here from the active profile in
``conf/profiles/``: the lake folder, the DuckDB file and the Delta extension file that the
``duckdb-extension-delta`` package ships, so that DuckDB never downloads an extension.
Build output (``target/``, logs) goes under ``<var>/dbt/`` to keep the repository clean.

Before a command that reads sources, two steps prepare them:

- ``write_h3_cells`` writes the ``silver/h3_cells`` Delta table with the H3 attributes of
  every cell in the silver incident tables, because DuckDB has no H3 functions offline.
- ``jobs.areas.write_incident_districts`` writes ``silver/incident_districts`` with the
  district outline each incident falls in, because DuckDB has no spatial functions offline.
- On the ``postgres`` target, ``copy_lake_to_postgres`` copies the silver and gold Delta
  tables into the ``silver`` and ``gold`` schemas of the target database, because the
  PostgreSQL sources read plain tables there.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jobs.settings import PROJECT_ROOT, Profile, load_profile

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"

# Node statuses that make a dbt command fail (see dbt.artifacts.schemas.results).
_FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})

# Terminal colour codes, which dbt puts in unit test diffs.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")

# Silver incident tables whose H3 cells go into silver/h3_cells.
INCIDENT_TABLES = ("houston_crime", "portland_calls", "edinburgh_accidents")

# Lake tables that the dbt sources read, by layer. The postgres target gets copies of them.
SOURCE_TABLES = {
    "silver": (
        *INCIDENT_TABLES,
        "rejects",
        "citizen_appeals",
        "h3_cells",
        "portland_districts",
        "incident_districts",
        "appeals",
        "media_items",
    ),
    "gold": ("forecasts", "backtests", "emerging_terms"),
}

# Silver tables of the kz profile (conf/kz/sources.yml) that the kz models read. The
# postgres target gets copies of those the lake has, and the others are skipped silently.
KZ_SOURCE_TABLES = (
    "kz_crime_cases",
    "kz_regions",
    "kz_bank_fraud",
    "kz_operator_fraud",
    "kz_admin_offences",
    "kz_admin_articles",
    "kz_probationers",
    "kz_probation_checkins",
    "kz_precursor_licences",
    "kz_precursor_movements",
)

# dbt commands that read sources, so that the prepare steps run before them.
_SOURCE_READING_COMMANDS = frozenset({"build", "run", "test", "source"})

# Used when neither run_dbt's postgres_url nor $BOLJAM_PG_URL is set: the local server of
# scripts/postgres.sh.
DEFAULT_POSTGRES_URL = "postgresql://boljam@127.0.0.1:55432/boljam"


class DbtRunError(RuntimeError):
    """A dbt command failed, either before running any node or on the nodes named."""

    def __init__(self, command: list[str], failed_nodes: list[str], detail: str = "") -> None:
        self.command = command
        self.failed_nodes = failed_nodes
        nodes = ", ".join(failed_nodes) if failed_nodes else "no node ran"
        message = f"dbt {' '.join(command)} failed ({nodes})"
        if detail:
            message = f"{message}: {detail}"
        super().__init__(message)


class PostgresCopyError(RuntimeError):
    """Copying a lake table into PostgreSQL failed."""


class DeltaExtensionNotFoundError(FileNotFoundError):
    """The DuckDB Delta extension file for the installed DuckDB version is missing."""


def delta_extension_path() -> Path:
    """Return the Delta extension file of the installed ``duckdb-extension-delta`` package.

    The package ships one file per DuckDB version, under ``extensions/v<duckdb version>/``.
    """
    import duckdb
    import duckdb_extension_delta

    package_dir = Path(next(iter(duckdb_extension_delta.__path__)))
    path = package_dir / "extensions" / f"v{duckdb.__version__}" / "delta.duckdb_extension"
    if not path.is_file():
        raise DeltaExtensionNotFoundError(
            f"DuckDB Delta extension not found at {path}; install the duckdb-extension-delta "
            f"version that matches duckdb {duckdb.__version__}"
        )
    return path


def postgres_environment(url: str) -> dict[str, str]:
    """Return the ``BOLJAM_PG_*`` variables that the postgres target reads, from a URL."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgresql", "postgres"} or not parts.hostname:
        raise ValueError(
            f"invalid PostgreSQL URL {url!r}; expected postgresql://user@host:port/database"
        )
    return {
        "BOLJAM_PG_HOST": parts.hostname,
        "BOLJAM_PG_PORT": str(parts.port or 5432),
        "BOLJAM_PG_USER": unquote(parts.username or "boljam"),
        "BOLJAM_PG_PASSWORD": unquote(parts.password or ""),
        "BOLJAM_PG_DATABASE": parts.path.lstrip("/") or "boljam",
    }


def dbt_environment(profile: Profile, postgres_url: str | None = None) -> dict[str, str]:
    """Return the environment variables that ``dbt/profiles.yml`` reads, for ``profile``.

    The ``BOLJAM_PG_*`` variables are set only when ``postgres_url`` is given.
    """
    duckdb_path = profile.path(profile.dbt.duckdb_path)
    environment = {
        "BOLJAM_LAKE_DIR": str(profile.lake),
        "BOLJAM_DUCKDB_PATH": str(duckdb_path),
        "BOLJAM_DUCKDB_DELTA_EXTENSION": str(delta_extension_path()),
        "BOLJAM_DUCKDB_EXTENSION_DIR": str(profile.var / "duckdb" / "extensions"),
        "BOLJAM_DBT_TARGET": profile.dbt.target,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "true",
    }
    if postgres_url:
        environment.update(postgres_environment(postgres_url))
    return environment


def h3_cells_schema():
    """Return the Arrow schema of ``silver/h3_cells``, which only this module writes."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("h3_cell", pa.string(), nullable=False),
            pa.field("resolution", pa.int32(), nullable=False),
            pa.field("parent_r7", pa.string(), nullable=False),
            # Null for resolution-7 cells, which have no resolution-8 parent.
            pa.field("parent_r8", pa.string(), nullable=True),
            pa.field("centroid_lat", pa.float64(), nullable=False),
            pa.field("centroid_lon", pa.float64(), nullable=False),
            pa.field("area_km2", pa.float64(), nullable=False),
            pa.field("city", pa.string(), nullable=False),
            pa.field("_loaded_at", pa.timestamp("us", tz="UTC"), nullable=False),
        ]
    )


# Key of the h3_cells commit metadata that stores, as JSON, the version of each incident
# table whose cells the table holds.
H3_CELLS_SOURCE_VERSIONS = "boljam.incident_table_versions"


def write_h3_cells(profile: Profile) -> int:
    """Write ``silver/h3_cells``: one row per H3 cell of the silver incidents, and return its size.

    Every r7, r8 and r9 cell of the incident tables gets its resolution, its r7 and r8
    parents, its centroid and its area in km2 from the h3 package. Missing incident tables
    are skipped, so an empty lake gives an empty table.

    Each write records the incident table versions it read. When every incident table has
    only gained files since those versions (appends), only the added files are read and
    their new cells are appended. Otherwise (first write, an overwrite, delete or merge of
    an incident table, a table gone, or a cell whose city would change) the whole table is
    rewritten from every incident.
    """
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    tables = {}
    for name in INCIDENT_TABLES:
        try:
            tables[name] = DeltaTable(str(profile.table_path("silver", name)))
        except TableNotFoundError:
            log.warning("silver table %s not found; its cells are left out of h3_cells", name)
    versions = {name: table.version() for name, table in tables.items()}
    path = profile.table_path("silver", "h3_cells")

    added_files = _files_added_since_h3_cells(path, tables)
    if added_files is not None:
        written = _append_new_h3_cells(path, tables, added_files, versions)
        if written is not None:
            return written
    cell_city = _incident_cell_cities(tables, files=None)
    rows = _h3_cell_rows(cell_city)
    _write_h3_cell_rows(path, rows, versions, mode="overwrite")
    log.info("wrote %d H3 cells to %s", len(rows), path)
    return len(rows)


def _files_added_since_h3_cells(path: Path, tables: Mapping) -> dict[str, set[str]] | None:
    """Return the data files each incident table gained since ``h3_cells`` was written.

    Returns None when the table must be rewritten: it does not exist, its last commit has no
    recorded versions, an incident table it read is gone, or one lost a data file.
    """
    import json

    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError, TableNotFoundError

    try:
        last_commit = DeltaTable(str(path)).history(1)[0]
    except TableNotFoundError:
        return None
    recorded = last_commit.get(H3_CELLS_SOURCE_VERSIONS)
    if recorded is None:
        return None
    recorded_versions = json.loads(recorded)
    if not set(recorded_versions) <= set(tables):
        return None

    added = {}
    for name, table in tables.items():
        current_files = _data_files(table)
        if name not in recorded_versions:
            added[name] = current_files
            continue
        if recorded_versions[name] > table.version():
            return None
        try:
            old = DeltaTable(table.table_uri, version=recorded_versions[name])
        except DeltaError:
            return None
        old_files = _data_files(old)
        if not old_files <= current_files:
            return None
        added[name] = current_files - old_files
    return added


def _data_files(table) -> set[str]:
    """Return the paths of a Delta table's data files, relative to the table folder."""
    return {fragment.path for fragment in table.to_pyarrow_dataset().get_fragments()}


def _append_new_h3_cells(
    path: Path, tables: Mapping, added_files: dict[str, set[str]], versions: dict[str, int]
) -> int | None:
    """Append the cells of ``added_files`` that ``h3_cells`` lacks; return the table size.

    Returns None, and writes nothing, when a known cell would get another city.
    """
    from deltalake import DeltaTable

    new_pairs = _incident_cell_cities(tables, files=added_files)
    existing = DeltaTable(str(path)).to_pyarrow_table(columns=["h3_cell", "city"])
    known_city = dict(
        zip(existing["h3_cell"].to_pylist(), existing["city"].to_pylist(), strict=True)
    )
    for cell, city in new_pairs.items():
        if cell in known_city and city < known_city[cell]:
            return None
    new_cells = {cell: city for cell, city in new_pairs.items() if cell not in known_city}
    rows = _h3_cell_rows(new_cells)
    # An empty append still records the versions, so the next run reads fewer files.
    _write_h3_cell_rows(path, rows, versions, mode="append")
    log.info("appended %d new H3 cells to %s", len(rows), path)
    return len(known_city) + len(rows)


def _incident_cell_cities(tables: Mapping, files: dict[str, set[str]] | None) -> dict[str, str]:
    """Return the city of every r7, r8 and r9 cell in the incident tables.

    With ``files``, only those data files of each table are read.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    cell_city: dict[str, str] = {}
    for name, table in tables.items():
        dataset = table.to_pyarrow_dataset()
        if files is not None:
            fragments = [
                fragment for fragment in dataset.get_fragments() if fragment.path in files[name]
            ]
            if not fragments:
                continue
            dataset = ds.FileSystemDataset(
                fragments, dataset.schema, dataset.format, dataset.filesystem
            )
        columns = dataset.to_table(columns=["city", "h3_r7", "h3_r8", "h3_r9"])
        for column in ("h3_r7", "h3_r8", "h3_r9"):
            pairs = pa.table({"cell": columns[column], "city": columns["city"]})
            for row in pairs.group_by(["cell", "city"]).aggregate([]).to_pylist():
                # NOTE: a cell in two cities' data keeps the first city in alphabetical
                # order. The study areas of the three cities are far apart.
                known = cell_city.get(row["cell"])
                if known is None or row["city"] < known:
                    cell_city[row["cell"]] = row["city"]
    return cell_city


def _h3_cell_rows(cell_city: Mapping[str, str]) -> list[dict]:
    """Return the h3_cells rows of the cells in ``cell_city``, sorted by cell."""
    import datetime as dt

    import h3

    loaded_at = dt.datetime.now(dt.UTC)
    rows = []
    for cell, city in sorted(cell_city.items()):
        resolution = h3.get_resolution(cell)
        lat, lon = h3.cell_to_latlng(cell)
        rows.append(
            {
                "h3_cell": cell,
                "resolution": resolution,
                "parent_r7": h3.cell_to_parent(cell, 7),
                "parent_r8": h3.cell_to_parent(cell, 8) if resolution >= 8 else None,
                "centroid_lat": lat,
                "centroid_lon": lon,
                "area_km2": h3.cell_area(cell, unit="km^2"),
                "city": city,
                "_loaded_at": loaded_at,
            }
        )
    return rows


def _write_h3_cell_rows(path: Path, rows: list[dict], versions: dict[str, int], mode: str) -> None:
    """Write ``rows`` to ``h3_cells`` and record the incident table ``versions`` read."""
    import json

    import pyarrow as pa
    from deltalake import CommitProperties, write_deltalake

    metadata = {H3_CELLS_SOURCE_VERSIONS: json.dumps(versions, sort_keys=True)}
    write_deltalake(
        str(path),
        pa.Table.from_pylist(rows, schema=h3_cells_schema()),
        mode=mode,
        schema_mode="overwrite" if mode == "overwrite" else None,
        commit_properties=CommitProperties(custom_metadata=metadata),
    )


def copy_lake_to_postgres(profile: Profile, url: str) -> dict[str, int]:
    """Copy the source Delta tables into the schemas ``silver`` and ``gold`` at ``url``.

    Each table is dropped, with the dbt views that read it, and written again through ADBC
    bulk ingest (COPY) in one transaction, and the row count of every copied table is
    returned under ``schema.table``. The build that follows recreates the views. A lake
    table that does not exist is skipped, so dbt later reports its source as missing. The
    kz tables of ``KZ_SOURCE_TABLES`` are copied when they exist.

    Raises:
        PostgresCopyError: a table could not be written.
    """
    import adbc_driver_postgresql.dbapi
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    counts: dict[str, int] = {}
    with adbc_driver_postgresql.dbapi.connect(url) as connection:
        for schema, names in SOURCE_TABLES.items():
            with connection.cursor() as cursor:
                cursor.execute(f"create schema if not exists {schema}")
            optional = KZ_SOURCE_TABLES if schema == "silver" else ()
            for name in (*names, *optional):
                try:
                    table = DeltaTable(str(profile.table_path(schema, name))).to_pyarrow_table()
                except TableNotFoundError:
                    if name not in optional:
                        log.warning("%s table %s not found; not copied to PostgreSQL", schema, name)
                    continue
                try:
                    with connection.cursor() as cursor:
                        # mode="replace" alone fails once staging views depend on the table.
                        cursor.execute(f'drop table if exists {schema}."{name}" cascade')
                        cursor.adbc_ingest(name, table, mode="create", db_schema_name=schema)
                except adbc_driver_postgresql.dbapi.Error as error:
                    raise PostgresCopyError(
                        f"copying {schema}.{name} to PostgreSQL failed: {error}"
                    ) from error
                counts[f"{schema}.{name}"] = table.num_rows
        connection.commit()
    log.info("copied %d lake tables to PostgreSQL: %s", len(counts), counts)
    return counts


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _failed_nodes(result: object) -> list[str]:
    """Return ``unique_id: message`` for every failed node of a dbtRunner result."""
    failed = []
    for node_result in getattr(result, "results", None) or []:
        status = str(getattr(node_result, "status", "")).lower()
        if status in _FAILED_STATUSES:
            node_id = getattr(getattr(node_result, "node", None), "unique_id", "?")
            message = _ANSI_ESCAPE.sub("", str(node_result.message))
            failed.append(f"{node_id}: {message}")
    return failed


def _close_duckdb_connection() -> None:
    """Close the DuckDB database file that dbt-duckdb keeps open after a command.

    Without this, a later ``duckdb.connect(path, read_only=True)`` in the same process
    fails because DuckDB allows one configuration per open database file.
    ``close_all_connections()`` drops dbt-duckdb's environment, whose ``__del__`` closes the
    connection (dbt-duckdb 1.11.1).
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    DuckDBConnectionManager.close_all_connections()


def _target_option(args: list[str]) -> str | None:
    """Return the value of dbt's ``--target``/``-t`` option in ``args``, or None."""
    for index, arg in enumerate(args):
        if arg in {"--target", "-t"} and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--target="):
            return arg.split("=", 1)[1]
    return None


def _with_profile_options(command: list[str], profile: Profile) -> list[str]:
    """Add the profile's dbt vars and node selection to ``command``.

    Vars given in ``command`` are merged over the profile's, so that a caller's ``--vars``
    keeps the profile's switches (such as ``kz_marts``). The selection is added only when
    ``command`` selects no nodes itself.
    """
    import json

    import yaml

    if profile.dbt.vars:
        caller_vars = {}
        if "--vars" in command:
            position = command.index("--vars")
            caller_vars = yaml.safe_load(command[position + 1]) or {}
            del command[position : position + 2]
        command += ["--vars", json.dumps({**profile.dbt.vars, **caller_vars})]
    selecting = {"--select", "-s", "--selector"}
    if (
        profile.dbt.select
        and command
        and command[0] in {"build", "run", "test"}
        and not selecting.intersection(command)
    ):
        command += ["--select", *profile.dbt.select]
    return command


def run_dbt(
    args: list[str], profile: Profile | None = None, postgres_url: str | None = None
) -> None:
    """Run one dbt command, such as ``["build"]``, on the project for ``profile``.

    ``profile`` defaults to ``load_profile()``. The project and profiles folder, the
    target path and the log path are added unless ``args`` already sets them. The dbt
    target is ``--target`` in ``args`` if given, else ``profile.dbt.target``. On the
    ``postgres`` target the database is ``postgres_url``, else ``$BOLJAM_PG_URL``, else
    ``DEFAULT_POSTGRES_URL``. Before ``build``, ``run``, ``test`` and ``source`` commands
    the H3 cell and incident district tables are written and, on the postgres target, the
    lake tables are copied.

    Raises:
        DbtRunError: dbt could not start or parse, or a model, test or unit test failed.
        PostgresCopyError: copying the lake tables into PostgreSQL failed.
    """
    from dbt.cli.main import dbtRunner

    from jobs.areas import write_incident_districts

    profile = profile or load_profile()
    target = _target_option(args) or profile.dbt.target
    if target == "postgres":
        postgres_url = postgres_url or os.environ.get("BOLJAM_PG_URL") or DEFAULT_POSTGRES_URL
    else:
        postgres_url = None
    environment = dbt_environment(profile, postgres_url)
    environment["BOLJAM_DBT_TARGET"] = target
    if args and args[0] in _SOURCE_READING_COMMANDS:
        write_h3_cells(profile)
        write_incident_districts(profile)
        if postgres_url:
            copy_lake_to_postgres(profile, postgres_url)
    Path(environment["BOLJAM_DUCKDB_PATH"]).parent.mkdir(parents=True, exist_ok=True)

    command = _with_profile_options(list(args), profile)
    defaults = {
        "--project-dir": str(DBT_PROJECT_DIR),
        "--profiles-dir": str(DBT_PROJECT_DIR),
        "--target-path": str(profile.var / "dbt" / "target"),
        "--log-path": str(profile.var / "dbt" / "logs"),
    }
    for flag, value in defaults.items():
        if flag not in command:
            command += [flag, value]

    log.info(
        "running dbt %s on lake %s, target %s",
        " ".join(args),
        environment["BOLJAM_LAKE_DIR"],
        target,
    )
    with _environment(environment):
        try:
            outcome = dbtRunner().invoke(command)
        finally:
            _close_duckdb_connection()

    if outcome.exception is not None:
        raise DbtRunError(args, [], str(outcome.exception)) from outcome.exception
    failed = _failed_nodes(outcome.result)
    if not outcome.success or failed:
        raise DbtRunError(args, failed)
    log.info("dbt %s finished", " ".join(args))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dbt_args",
        nargs=argparse.REMAINDER,
        metavar="DBT_ARGS",
        help=(
            "dbt command and its options, e.g. 'build' or 'docs generate'; default: build. "
            "Everything after the command goes to dbt"
        ),
    )
    parser.add_argument(
        "--profile",
        default=None,
        help="profile in conf/profiles/ to run with; default: $BOLJAM_PROFILE or embedded",
    )


def run(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile)
    try:
        run_dbt(args.dbt_args or ["build"], profile=profile)
    except DbtRunError as error:
        log.error("%s. The dbt log is in %s", error, profile.var / "dbt" / "logs")
        return 1
    return 0
