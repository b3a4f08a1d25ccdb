"""Read the latest forecast run of one target from the gold Delta tables."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from jobs.settings import Profile

logger = logging.getLogger(__name__)


class ReportDataError(LookupError):
    """The gold tables contain no usable forecast rows for the requested report."""


@dataclass(frozen=True)
class Contribution:
    feature: str
    contribution: float


@dataclass(frozen=True)
class ForecastRun:
    """The rows of one forecast run that the report shows."""

    target: str
    run_id: str
    model: str
    created_at: datetime
    # First forecast period of the run: the period the map shows.
    period_start: date
    # Forecast rows of ``model`` for ``period_start``, one per cell, ordered by risk_rank.
    forecasts: pd.DataFrame
    # Backtest rows of the run: one per fold, method and metric.
    backtests: pd.DataFrame
    # Predicted total of ``model`` per period over all runs: period_start, predicted, run_id.
    history: pd.DataFrame


def read_delta(path: Path, target: str) -> pd.DataFrame:
    """Read the rows of ``target`` from the Delta table at ``path``."""
    from deltalake import DeltaTable

    if not DeltaTable.is_deltatable(str(path)):
        raise ReportDataError(
            f"Delta table not found at {path}; run `boljam forecast --target {target}` first"
        )
    return DeltaTable(str(path)).to_pandas(filters=[("target", "=", target)])


def latest_run_id(forecasts: pd.DataFrame) -> str:
    """Return the run_id whose rows were created last."""
    created = forecasts.groupby("run_id")["created_at"].max()
    return str(created.idxmax())


def pick_model(run_rows: pd.DataFrame, run_id: str, configured: str | None) -> str:
    """Choose the model to map: the only one in the run, or the configured one."""
    models = sorted(run_rows["model"].unique())
    if configured is not None:
        if configured not in models:
            raise ReportDataError(
                f"model {configured!r} from conf/reports.yml has no forecasts in run {run_id}; "
                f"the run has {models}"
            )
        return configured
    if len(models) > 1:
        raise ReportDataError(
            f"run {run_id} contains forecasts of several models {models}, so "
            "set targets.<target>.model in conf/reports.yml to pick one"
        )
    return models[0]


def predicted_totals(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Sum predictions per run and period, keeping for each period the latest run."""
    totals = forecasts.groupby(["run_id", "period_start"], as_index=False).agg(
        predicted=("predicted", "sum"), created_at=("created_at", "max")
    )
    latest = totals.sort_values(["created_at", "run_id"]).drop_duplicates(
        "period_start", keep="last"
    )
    return latest.sort_values("period_start").reset_index(drop=True)[
        ["period_start", "predicted", "run_id"]
    ]


def read_latest_run(profile: Profile, target: str, model: str | None = None) -> ForecastRun:
    """Load the forecasts and backtests of the latest run of ``target``.

    The latest run is the run_id with the greatest ``created_at``. The map period is the
    earliest ``period_start`` among that run's forecasts.
    """
    forecasts = read_delta(profile.table_path("gold", "forecasts"), target)
    if forecasts.empty:
        raise ReportDataError(f"no forecast rows for target {target!r} in the gold table")

    run_id = latest_run_id(forecasts)
    run_rows = forecasts[forecasts["run_id"] == run_id]
    model = pick_model(run_rows, run_id, model)
    run_rows = run_rows[run_rows["model"] == model]
    if "area_id" in run_rows.columns:
        # The report names each unit by h3_cell, which is null on region rows, so those rows
        # get their region code there.
        run_rows = run_rows.assign(h3_cell=run_rows["h3_cell"].fillna(run_rows["area_id"]))
    period_start = run_rows["period_start"].min()
    period_rows = (
        run_rows[run_rows["period_start"] == period_start]
        .sort_values(["risk_rank", "h3_cell"])
        .reset_index(drop=True)
    )

    backtests = read_delta(profile.table_path("gold", "backtests"), target)
    backtests = backtests[backtests["run_id"] == run_id].reset_index(drop=True)
    if backtests.empty:
        logger.warning("no backtest rows for target %s run %s", target, run_id)
    duplicated = backtests.duplicated(["fold", "method", "metric"])
    if duplicated.any():
        first = backtests[duplicated].iloc[0]
        raise ReportDataError(
            f"backtests of run {run_id} contain fold {first['fold']} method {first['method']} "
            f"metric {first['metric']} more than once"
        )

    logger.info(
        "report data: target %s run %s model %s period %s, %s cells, %s backtest rows",
        target,
        run_id,
        model,
        period_start,
        len(period_rows),
        len(backtests),
    )
    return ForecastRun(
        target=target,
        run_id=run_id,
        model=model,
        created_at=run_rows["created_at"].max().to_pydatetime(),
        period_start=to_date(period_start),
        forecasts=period_rows,
        backtests=backtests,
        history=predicted_totals(forecasts[forecasts["model"] == model]),
    )


def to_date(value: object) -> date:
    """Convert a pandas or Python date-like value to ``datetime.date``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return value.date()  # pandas Timestamp


def parse_contributions(text: str, cell: str) -> list[Contribution]:
    """Parse the ``top_contributions`` JSON of one forecast row, keeping its order."""
    try:
        return [
            Contribution(feature=str(item["feature"]), contribution=float(item["contribution"]))
            for item in json.loads(text)
        ]
    except (TypeError, ValueError, KeyError) as error:
        raise ReportDataError(
            f"invalid top_contributions in the forecast of cell {cell}: {text!r} ({error})"
        ) from error
