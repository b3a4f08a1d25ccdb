"""var/demo/summary.json: what one pipeline run produced, read back from the lake and MLflow."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from jobs.settings import Profile, load_profile

logger = logging.getLogger(__name__)


def lake_tables(lake: Path) -> dict[str, dict]:
    """Return layer/name -> {path, version, rows} for every Delta table under ``lake``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    tables = {}
    for log_dir in sorted(lake.glob("*/*/_delta_log")):
        path = log_dir.parent
        table = DeltaTable(str(path))
        actions = pa.table(table.get_add_actions(flatten=True))
        rows = pc.sum(actions["num_records"]).as_py() or 0 if actions.num_rows else 0
        tables[f"{path.parent.name}/{path.name}"] = {
            "path": str(path),
            "version": table.version(),
            "rows": int(rows),
        }
    return tables


def rejects_by_reason(lake: Path) -> dict[str, dict[str, int]]:
    from deltalake import DeltaTable

    path = lake / "silver" / "rejects"
    if not DeltaTable.is_deltatable(str(path)):
        return {}
    frame = DeltaTable(str(path)).to_pandas(columns=["source", "reason_code"])
    counts: dict[str, dict[str, int]] = {}
    for (source, reason), size in frame.groupby(["source", "reason_code"]).size().items():
        counts.setdefault(source, {})[reason] = int(size)
    return counts


def batch_reconciliation(lake: Path) -> list[dict]:
    from deltalake import DeltaTable

    path = lake / "_state" / "silver_batches"
    if not DeltaTable.is_deltatable(str(path)):
        return []
    frame = DeltaTable(str(path)).to_pandas()
    frame["processed_at"] = frame["processed_at"].astype(str)
    return frame.sort_values(["source", "processed_at"]).to_dict(orient="records")


def forecast_runs(profile: Profile, lake: Path) -> dict[str, dict]:
    """Return target -> {run_id, metrics} for the newest forecast run of every target."""
    from deltalake import DeltaTable

    path = lake / "gold" / "forecasts"
    if not DeltaTable.is_deltatable(str(path)):
        return {}
    import mlflow

    mlflow.set_tracking_uri(profile.mlflow_tracking_uri)
    client = mlflow.MlflowClient()
    frame = DeltaTable(str(path)).to_pandas(columns=["target", "run_id", "created_at"])
    newest = frame.sort_values("created_at").groupby("target").tail(1)
    runs = {}
    for row in newest.itertuples(index=False):
        run = client.get_run(row.run_id)
        runs[row.target] = {
            "run_id": row.run_id,
            "experiment_id": run.info.experiment_id,
            "metrics": dict(sorted(run.data.metrics.items())),
        }
    return runs


def _data_docs(profile: Profile) -> str | None:
    index = profile.var / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    return str(index) if index.exists() else None


def write_summary(profile: Profile | None = None, **extra) -> dict:
    """Collect the run's figures, write var/demo/summary.json and log a short summary."""
    profile = profile or load_profile()
    lake = profile.lake
    tables = lake_tables(lake)
    reports = sorted(str(path) for path in (profile.var / "reports").glob("**/*.html"))
    summary = {
        "profile": profile.name,
        "tables": tables,
        "rows": {
            layer: {name.split("/", 1)[1]: info["rows"] for name, info in tables.items()
                    if name.startswith(layer + "/")}
            for layer in ("bronze", "silver", "gold")
        },
        "rejects_by_reason": rejects_by_reason(lake),
        "batches": batch_reconciliation(lake),
        "forecasts": forecast_runs(profile, lake),
        "mlflow_tracking_uri": profile.mlflow_tracking_uri,
        "reports": reports,
        "data_docs": _data_docs(profile),
        **extra,
    }
    out = profile.var / "demo" / "summary.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    logger.info("summary written to %s", out)
    return summary


def human_summary(summary: dict) -> list[str]:
    lines = []
    for layer, tables in summary["rows"].items():
        for name, rows in tables.items():
            lines.append(f"{layer:6} {name:22} {rows:>9,} rows")
    for source, reasons in summary["rejects_by_reason"].items():
        detail = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
        lines.append(f"rejects {source}: {detail}")
    for target, run in summary["forecasts"].items():
        metrics = run["metrics"]
        pei = {
            name: round(value, 3)
            for name, value in metrics.items()
            if "pei" in name and "1pct" in name
        }
        lines.append(f"forecast {target} (run {run['run_id']}): {pei}")
    for report in summary["reports"]:
        lines.append(f"report {report}")
    return lines


def add_arguments(parser) -> None:
    del parser  # no options: the summary reads the active profile's lake and MLflow store


def run(args) -> int:
    del args
    write_summary()
    return 0
