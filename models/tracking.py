"""MLflow helpers: one experiment per forecast target, code version tags."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from jobs.settings import PROJECT_ROOT, Profile

logger = logging.getLogger(__name__)


def experiment_name(target_name: str) -> str:
    return f"boljam-forecast-{target_name}"


def registered_model_name(target_name: str) -> str:
    return f"boljam-{target_name}"


def connect(profile: Profile):
    """Point MLflow at the profile's tracking store and return an MlflowClient."""
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = profile.mlflow_tracking_uri
    if uri.startswith("sqlite:///"):
        _initialise_sqlite_store(uri, profile.mlflow_artifact_root)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _initialise_sqlite_store(uri: str, artifact_root: str) -> None:
    """Create or migrate the SQLite tracking database while holding a file lock.

    MLflow migrates the schema when a store first opens the file, and two processes that
    migrate a new file at once leave it half migrated (alembic raises "expected to match
    one row"). The lock makes parallel forecast jobs migrate one after the other.
    """
    import fcntl

    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    database = Path(uri[len("sqlite:///") :])
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(database.with_name(database.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            SqlAlchemyStore(uri, artifact_root)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_experiment(client, profile: Profile, target_name: str) -> str:
    """Return the id of the target's experiment, creating it under the artifact root."""
    name = experiment_name(target_name)
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = f"{profile.mlflow_artifact_root.rstrip('/')}/{name}"
    experiment_id = client.create_experiment(name, artifact_location=location)
    logger.info("Created MLflow experiment %s (id %s) at %s", name, experiment_id, location)
    return experiment_id


def code_version() -> dict[str, str]:
    """Return the git commit of the project and whether the working tree has changes.

    Both values are ``unknown`` when the project is not a git checkout or git is missing.
    """
    try:
        commit = _git("rev-parse", "HEAD")
        dirty = "true" if _git("status", "--porcelain", "--untracked-files=no") else "false"
    except (OSError, subprocess.CalledProcessError) as error:
        logger.warning("Cannot read the git commit of %s: %s", PROJECT_ROOT, error)
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    return {"git_commit": commit, "git_dirty": dirty}


def _git(*args: str) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.stdout.strip()


CHAMPION_ALIAS = "champion"


def apply_champion_rule(
    client, model_name: str, version: str, metrics: dict[str, float], metric: str
) -> tuple[bool, str]:
    """Move the ``champion`` alias to ``version`` when its model beats the current champion
    and every baseline.

    The model's backtest mean of ``metric`` (for example ``pei_star_1pct``) must be at
    least each baseline's mean and at least the ``model_{metric}`` that the current
    champion's run logged. A tie moves the alias, because the new version was trained on
    the newest data. Returns whether the alias moved and the reason, which is also stored
    as the version tag ``champion_rule``.

    NOTE: the champion's figure comes from its own backtest, which covers the weeks before
    its run. When new weeks have arrived since, the two windows differ.
    """
    model_value = metrics.get(f"model_{metric}")
    baselines = {
        name.removesuffix(f"_{metric}"): value
        for name, value in metrics.items()
        if name.startswith("baseline_") and name.endswith(f"_{metric}")
    }
    champion = _current_champion(client, model_name, version, metric)
    if model_value is None or model_value != model_value or not baselines:
        promoted, reason = False, f"model_{metric} or the baselines' {metric} is missing"
    else:
        rivals = dict(baselines)
        if champion is not None:
            rivals[f"champion_version_{champion[0]}"] = champion[1]
        better = {name: value for name, value in rivals.items() if value > model_value}
        promoted = not better
        reason = (
            f"model {metric} {model_value:.4f} >= every baseline"
            + (f" and champion version {champion[0]}" if champion is not None else "")
            if promoted
            else f"model {metric} {model_value:.4f} < {sorted(better.items())}"
        )
    client.set_model_version_tag(model_name, version, "champion_rule", reason)
    if promoted:
        client.set_registered_model_alias(model_name, CHAMPION_ALIAS, version)
        logger.info(
            "Model %s version %s is now %s: %s", model_name, version, CHAMPION_ALIAS, reason
        )
    else:
        logger.info("Model %s version %s stays a challenger: %s", model_name, version, reason)
    return promoted, reason


def _current_champion(client, model_name: str, version: str, metric: str):
    """Return (version, model_{metric}) of the current champion, or None when there is none.

    A champion whose run did not log the metric counts as none, so it cannot block a new
    version forever.
    """
    from mlflow.exceptions import MlflowException

    try:
        champion = client.get_model_version_by_alias(model_name, CHAMPION_ALIAS)
    except MlflowException:
        return None
    if str(champion.version) == str(version) or not champion.run_id:
        return None
    value = client.get_run(champion.run_id).data.metrics.get(f"model_{metric}")
    if value is None or value != value:
        logger.warning(
            "Champion %s version %s has no model_%s; comparing with the baselines only",
            model_name,
            champion.version,
            metric,
        )
        return None
    return str(champion.version), float(value)
