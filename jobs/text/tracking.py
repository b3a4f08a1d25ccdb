"""MLflow tracking of the text models: one run per model variant, registered by name."""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)

EXPERIMENT = "boljam-text"


def start_tracking(profile):
    """Point MLflow at the profile's SQLite store and return the text experiment id."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    import mlflow

    store = profile.mlflow_tracking_uri
    if store.startswith("sqlite:///"):
        from pathlib import Path

        Path(store[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(store)
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
) -> str:
    """Log one run with its parameters and CV metrics; log and register ``model`` if given."""
    import mlflow

    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        mlflow.log_params({key: str(value) for key, value in params.items()})
        mlflow.log_metrics({key: float(value) for key, value in metrics.items()})
        mlflow.set_tags(tags or {})
        if model is not None:
            import mlflow.sklearn

            mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name=registered_name,
                serialization_format="cloudpickle",
            )
        logger.info("MLflow run %s (%s): %s", run.info.run_id, run_name, metrics)
        return run.info.run_id
