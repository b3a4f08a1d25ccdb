"""Environment for the project-local Airflow: home, SQLite metadata database, DAG folder.

``boljam demo``, the tests and ``make airflow`` all run Airflow through this module, so
they share one configuration and never touch a system-wide Airflow home.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

from jobs.privacy import KEY_ENV
from jobs.settings import PROJECT_ROOT, Profile, load_profile

logger = logging.getLogger(__name__)


API_PORT = int(os.environ.get("BOLJAM_AIRFLOW_PORT", "8080"))


class AirflowRunError(RuntimeError):
    """An Airflow command exited with an error."""


def pseudonym_key(profile: Profile) -> str:
    """Return $BOLJAM_PSEUDONYM_KEY, or a random key kept in var/secrets for local runs."""
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV]
    path = profile.var / "secrets" / "pseudonym.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="ascii")
        path.chmod(0o600)
        logger.info("generated a local pseudonymisation key in %s", path)
    return path.read_text(encoding="ascii").strip()


def airflow_env(profile: Profile | None = None, home: Path | None = None) -> dict[str, str]:
    """Return os.environ plus the settings of the project-local Airflow installation."""
    profile = profile or load_profile()
    home = home or profile.var / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
            "AIRFLOW__CORE__DAG_FILE_PROCESSOR_TIMEOUT": "180",
            "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
            "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "True",
            "BOLJAM_PROFILE": profile.name,
            "BOLJAM_PROFILE_FILE": os.environ.get("BOLJAM_PROFILE_FILE", ""),
            KEY_ENV: pseudonym_key(profile),
            "PATH": bin_dir + os.pathsep + env.get("PATH", ""),
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "SPARK_LOCAL_IP": "127.0.0.1",
            "DO_NOT_TRACK": "true",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "NO_PROXY": "127.0.0.1,localhost",
            # Settings the servers of `make airflow` share: every component must sign and
            # check task tokens with one secret, and talk to the API server on loopback.
            "AIRFLOW__API_AUTH__JWT_SECRET": _local_secret(home / "jwt_secret"),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{API_PORT}",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(API_PORT),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{API_PORT}/execution/",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        }
    )
    return env


def _local_secret(path: Path) -> str:
    """Return a random secret kept in ``path``, creating it on first use."""
    if not path.exists():
        path.write_text(secrets.token_hex(32), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


def add_arguments(parser) -> None:
    parser.add_argument(
        "--exports",
        action="store_true",
        help="print the Airflow settings as shell export lines (for scripts/airflow.sh)",
    )


def run(args) -> int:
    import shlex

    env = airflow_env()
    keys = sorted(key for key in env if key.startswith(("AIRFLOW", "BOLJAM", "PYSPARK")))
    keys += ["PATH", "SPARK_LOCAL_IP", "DO_NOT_TRACK", "MLFLOW_DISABLE_TELEMETRY",
             "DBT_SEND_ANONYMOUS_USAGE_STATS", "NO_PROXY"]
    for key in keys:
        print(f"export {key}={shlex.quote(env[key])}")
    return 0


def run_airflow(args: list[str], env: dict[str, str], log_path: Path | None = None) -> None:
    """Run ``airflow ARGS`` with ``env``; raise AirflowRunError with the log tail on failure."""
    command = [str(Path(sys.executable).parent / "airflow"), *args]
    logger.info("running %s", " ".join(command))
    if log_path:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("w", encoding="utf-8") as log:
            completed = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        output = log_path.read_text(encoding="utf-8", errors="replace")
    else:
        completed = subprocess.run(command, env=env, capture_output=True, text=True)
        output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        tail = "\n".join(output.splitlines()[-40:])
        raise AirflowRunError(
            f"airflow {' '.join(args)} exited with {completed.returncode}"
            + (f"; full log in {log_path}" if log_path else "")
            + f"\n{tail}"
        )


def migrate(env: dict[str, str]) -> None:
    """Create or upgrade the SQLite metadata database."""
    run_airflow(["db", "migrate"], env)


def test_dag(
    dag_id: str,
    logical_date: str,
    env: dict[str, str],
    log_path: Path,
    conf: dict | None = None,
) -> None:
    """Run one DAG in-process with ``airflow dags test`` and fail unless the run succeeds.

    Tasks do not retry here (unless BOLJAM_TASK_RETRIES is set), because a one-off run
    would otherwise sit out each retry delay before it reports a failure.
    """
    env = {**env, "BOLJAM_TASK_RETRIES": env.get("BOLJAM_TASK_RETRIES", "0")}
    args = ["dags", "test", dag_id, logical_date]
    if conf:
        args += ["--conf", json.dumps(conf)]
    run_airflow(args, env, log_path)
    output = log_path.read_text(encoding="utf-8", errors="replace")
    # `dags test` can exit 0 after a task failed; the run's final state is in its output.
    finished = [line for line in output.splitlines() if "DagRun Finished" in line]
    if not finished or "state=success" not in finished[-1]:
        tail = "\n".join(output.splitlines()[-30:])
        raise AirflowRunError(f"DAG {dag_id} run did not succeed; log in {log_path}\n{tail}")
