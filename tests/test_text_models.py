"""Tracking and evaluation of the text models: the champion rule and folds grouped by text."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch):
    """Point MLflow at a fresh SQLite store and a text experiment under ``tmp_path``."""
    import mlflow

    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment_id = mlflow.create_experiment("text", artifact_location=str(tmp_path / "art"))
    yield experiment_id
    mlflow.set_tracking_uri(previous)


def _register(experiment_id: str, macro_f1: float) -> str:
    from sklearn.dummy import DummyClassifier

    from jobs.text.tracking import log_model_run

    model = DummyClassifier().fit([[0], [1]], ["a", "b"])
    return log_model_run(
        experiment_id,
        "urgency:test",
        {"task": "urgency"},
        {"macro_f1": macro_f1},
        model,
        "boljam-text-test",
        champion_metric="macro_f1",
    )


def test_champion_moves_unless_worse(mlflow_store):
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    first = _register(mlflow_store, 0.70)
    assert client.get_model_version_by_alias("boljam-text-test", "champion").run_id == first
    _register(mlflow_store, 0.60)
    assert client.get_model_version_by_alias("boljam-text-test", "champion").run_id == first
    tie = _register(mlflow_store, 0.70)
    champion = client.get_model_version_by_alias("boljam-text-test", "champion")
    assert champion.run_id == tie
    assert str(champion.version) == "3"
    assert champion.tags["macro_f1"] == "0.7"


def test_grouped_folds_keep_copies_together():
    from jobs.text.duplicates import outer_folds

    truth = np.array([True, False] * 10)
    groups = np.repeat(np.arange(10), 2)
    for train, test in outer_folds(truth, 5, 42, groups):
        assert set(groups[train]).isdisjoint(groups[test])


def test_twin_label_copies_training_label():
    from jobs.text.duplicates import evaluate_earlier_max

    # Ten pairs of copies (similarity 1); the pairs are unrelated (similarity 0). Every
    # earlier appeal score is 0 or 1, so earlier_max flags exactly the second copies.
    count = 20
    similarity = np.zeros((count, count))
    for first in range(0, count, 2):
        similarity[first, first + 1] = similarity[first + 1, first] = 1.0
    # Both copies of a pair share the flag: pairs 0-4 flagged, pairs 5-9 not.
    truth = np.repeat([True] * 5 + [False] * 5, 2)
    groups = np.repeat(np.arange(10), 2)

    stratified = evaluate_earlier_max(similarity, truth, 5, 42, twin_label=True)
    grouped = evaluate_earlier_max(similarity, truth, 5, 42, groups, twin_label=True)
    plain = evaluate_earlier_max(similarity, truth, 5, 42, groups)

    # With grouped folds no copy is in the training folds, so twin_label adds nothing.
    assert grouped["f1"] == pytest.approx(plain["f1"])
    assert stratified["f1"] > grouped["f1"]
