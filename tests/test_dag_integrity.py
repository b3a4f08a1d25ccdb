"""Every DAG file imports cleanly, is documented, and keeps heavy imports out of parsing."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DAG_FILES = sorted((ROOT / "dags").glob("*.py"))
HEAVY = ("pyspark", "pandas", "lightgbm", "prophet", "mlflow", "great_expectations", "dbt")

PROBE = """
import importlib.util, json, sys
path = sys.argv[1]
spec = importlib.util.spec_from_file_location("dag_under_test", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from airflow.sdk import DAG
dags = [value for value in vars(module).values() if isinstance(value, DAG)]
print(json.dumps({"heavy": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY_ROOTS)}))
""".replace("HEAVY_ROOTS", repr(HEAVY))


def test_dag_folder_has_the_pipeline():
    names = {path.stem for path in DAG_FILES}
    assert {"boljam_ingest", "boljam_transform", "boljam_forecast", "boljam_report"} <= names


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_dag_file_parses_without_heavy_imports(path):
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    heavy = json.loads(completed.stdout.strip().splitlines()[-1])["heavy"]
    roots = sorted({name.split(".")[0] for name in heavy})
    assert roots == [], f"{path.name} imports {roots} at parse time"


def test_dagbag_has_no_import_errors_and_every_dag_is_documented(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {path.stem for path in DAG_FILES}
    for dag_id, dag in bag.dags.items():
        assert dag.doc_md and dag.doc_md.strip(), f"{dag_id} has no Markdown doc"
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.catchup is False, f"{dag_id} must not catch up"
        assert dag.start_date.tzinfo is not None, f"{dag_id} start date is naive"
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id} owner"
