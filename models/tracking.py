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
        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


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
