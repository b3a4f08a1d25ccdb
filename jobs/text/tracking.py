"""MLflow tracking of the text models: one run per model variant, registered by name."""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)

EXPERIMENT = "boljam-text"


def start_tracking(profile):
    """Point MLflow at the profile's store and return the text experiment id."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    import mlflow

    from models.tracking import connect

    # connect() creates or migrates a SQLite store under a file lock, so that two jobs that
    # open a new store at the same time do not leave it half migrated.
    connect(profile)
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    if experiment is not None:
        return experiment.experiment_id
    return mlflow.create_experiment(
        EXPERIMENT, artifact_location=f"{profile.mlflow_artifact_root.rstrip('/')}/{EXPERIMENT}"
    )


def log_model_run(
    experiment_id: str,
    run_name: str,
    params: dict,
    metrics: dict,
    model=None,
    registered_name: str | None = None,
    tags: dict | None = None,
    champion_metric: str | None = None,
) -> str:
    """Log one run with its parameters and CV metrics; log and register ``model`` if given.

    With ``champion_metric``, the registered version is compared with the current
    ``champion`` version of ``registered_name`` by that metric (see apply_champion_rule).
    """
    import mlflow

    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        mlflow.log_params({key: str(value) for key, value in params.items()})
        mlflow.log_metrics({key: float(value) for key, value in metrics.items()})
        mlflow.set_tags(tags or {})
        if model is not None:
            import mlflow.sklearn
            import sklearn

            mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name=registered_name,
                serialization_format="cloudpickle",
                # Pinned here so that MLflow does not infer the requirements in a subprocess.
                pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
            )
        logger.info("MLflow run %s (%s): %s", run.info.run_id, run_name, metrics)
    if model is not None and registered_name and champion_metric:
        apply_champion_rule(registered_name, run.info.run_id, champion_metric, metrics)
    return run.info.run_id


def apply_champion_rule(
    model_name: str, run_id: str, metric: str, metrics: dict
) -> tuple[str, bool]:
    """Move the ``champion`` alias to the version of ``run_id`` unless the champion is better.

    Each version carries its cross-validated ``metric`` as a version tag. The new version
    becomes champion when no champion exists, when the champion has no such tag, or when its
    value is not above the new one. Returns the new version and whether it became champion.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from models.tracking import CHAMPION_ALIAS

    client = MlflowClient()
    versions = client.search_model_versions(f"name = '{model_name}' and run_id = '{run_id}'")
    if not versions:
        raise LookupError(f"no version of registered model {model_name} comes from run {run_id}")
    version = str(versions[0].version)
    value = float(metrics[metric])
    client.set_model_version_tag(model_name, version, metric, str(value))
    try:
        champion = client.get_model_version_by_alias(model_name, CHAMPION_ALIAS)
    except MlflowException:
        champion = None
    champion_value = float(champion.tags[metric]) if champion and metric in champion.tags else None
    promoted = champion_value is None or champion_value <= value
    if promoted:
        client.set_registered_model_alias(model_name, CHAMPION_ALIAS, version)
    logger.info(
        "Model %s version %s (%s %.4f) champion: %s (previous champion %s)",
        model_name, version, metric, value, promoted, champion_value,
    )  # fmt: skip
    return version, promoted
