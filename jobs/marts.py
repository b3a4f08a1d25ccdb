"""Run the dbt project in ``dbt/`` (staging, intermediate and marts) on the silver lake.

dbt runs in this process through ``dbt.cli.main.dbtRunner``. The paths that
``dbt/profiles.yml`` reads with ``env_var()`` are set here from the active profile in
``conf/profiles/``: the lake folder, the DuckDB file and the Delta extension file that the
``duckdb-extension-delta`` package ships, so that DuckDB never downloads an extension.
Build output (``target/``, logs) goes under ``<var>/dbt/`` to keep the repository clean.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from jobs.settings import PROJECT_ROOT, Profile, load_profile

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"

# Node statuses that make a dbt command fail (see dbt.artifacts.schemas.results).
_FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})

# Terminal colour codes, which dbt puts in unit test diffs.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


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


def dbt_environment(profile: Profile) -> dict[str, str]:
    """Return the environment variables that ``dbt/profiles.yml`` reads, for ``profile``."""
    duckdb_path = profile.path(profile.dbt.duckdb_path)
    return {
        "BOLJAM_LAKE_DIR": str(profile.lake),
        "BOLJAM_DUCKDB_PATH": str(duckdb_path),
        "BOLJAM_DUCKDB_DELTA_EXTENSION": str(delta_extension_path()),
        "BOLJAM_DUCKDB_EXTENSION_DIR": str(profile.var / "duckdb" / "extensions"),
        "BOLJAM_DBT_TARGET": profile.dbt.target,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "true",
    }


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


def run_dbt(args: list[str], profile: Profile | None = None) -> None:
    """Run one dbt command, such as ``["build"]``, on the project for ``profile``.

    ``profile`` defaults to ``load_profile()``. The project and profiles folder, the
    target path and the log path are added unless ``args`` already sets them.

    Raises:
        DbtRunError: dbt could not start or parse, or a model, test or unit test failed.
    """
    from dbt.cli.main import dbtRunner

    profile = profile or load_profile()
    environment = dbt_environment(profile)
    Path(environment["BOLJAM_DUCKDB_PATH"]).parent.mkdir(parents=True, exist_ok=True)

    command = list(args)
    defaults = {
        "--project-dir": str(DBT_PROJECT_DIR),
        "--profiles-dir": str(DBT_PROJECT_DIR),
        "--target-path": str(profile.var / "dbt" / "target"),
        "--log-path": str(profile.var / "dbt" / "logs"),
    }
    for flag, value in defaults.items():
        if flag not in command:
            command += [flag, value]

    log.info("running dbt %s on lake %s", " ".join(args), environment["BOLJAM_LAKE_DIR"])
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
