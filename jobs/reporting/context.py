"""Build the template context of the forecast report from one forecast run."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h3
import yaml

from jobs.reporting.data import ForecastRun, parse_contributions
from jobs.reporting.formatting import Formatter
from jobs.reporting.hexmap import Projection, cell_ring, colour_classes, colour_for

if TYPE_CHECKING:
    import pandas as pd

    from jobs.reporting.settings import ReportSettings

MESSAGES_DIR = Path(__file__).resolve().parent / "messages"


def load_messages(language: str) -> dict[str, str]:
    """Load the report text of one language from ``messages/<language>.yml``."""
    path = MESSAGES_DIR / f"{language}.yml"
    if not path.exists():
        raise FileNotFoundError(f"report text not found for language {language!r}: {path}")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def build_context(
    run: ForecastRun, settings: ReportSettings, generated_at: datetime
) -> dict[str, Any]:
    """Return everything the report template shows, with numbers already formatted."""
    text = load_messages(settings.language)
    fmt = Formatter(settings.language)
    level = fmt.percent(settings.interval_level)
    top = run.forecasts.head(settings.top_cells)

    return {
        "language": settings.language,
        "text": text,
        "title": text["title"].format(target=run.target),
        "target": run.target,
        "run_id": run.run_id,
        "model": run.model,
        "period": fmt.date(run.period_start),
        "created_at": fmt.datetime_utc(run.created_at),
        "generated_at": fmt.datetime_utc(generated_at),
        "interval_heading": text["column_interval"].format(level=level),
        "map": build_map(run.forecasts, top, settings, text, fmt),
        "top_cells": build_top_cells(top, settings, fmt),
        "backtest": build_backtest(run, settings, fmt),
    }


def build_map(
    study: pd.DataFrame,
    top: pd.DataFrame,
    settings: ReportSettings,
    text: dict[str, str],
    fmt: Formatter,
) -> dict[str, Any]:
    """Project the study cells and colour the top cells by predicted count."""
    study_rings = [cell_ring(cell) for cell in study["h3_cell"]]
    projection = Projection(point for ring in study_rings for point in ring)
    classes = colour_classes(list(top["predicted"]))
    level = fmt.percent(settings.interval_level)

    hexagons = []
    for row in top.itertuples(index=False):
        label_x, label_y = projection.project(*h3.cell_to_latlng(row.h3_cell))
        hexagons.append(
            {
                "cell": row.h3_cell,
                "rank": row.risk_rank,
                "points": projection.points_attribute(cell_ring(row.h3_cell)),
                "fill": colour_for(row.predicted, classes),
                "label_x": f"{label_x:.1f}",
                "label_y": f"{label_y:.1f}",
                "title": hexagon_title(row, settings, text, fmt, level),
            }
        )

    return {
        "width": f"{projection.width:.0f}",
        "height": f"{projection.height:.0f}",
        "label": text["map_label"].format(count=len(hexagons)),
        "study_path": projection.path_data(study_rings),
        "hexagons": hexagons,
        "legend": [
            {
                "colour": colour_class.colour,
                "label": text["legend_range"].format(
                    lower=fmt.number(colour_class.lower, 1),
                    upper=fmt.number(colour_class.upper, 1),
                ),
            }
            for colour_class in classes
        ],
    }


def hexagon_title(
    row: Any, settings: ReportSettings, text: dict[str, str], fmt: Formatter, level: str
) -> str:
    """Return the tooltip of one hexagon: cell, forecast, interval and top contributions."""
    lines = [
        row.h3_cell,
        text["tooltip_predicted"].format(value=fmt.number(row.predicted, 1)),
        text["tooltip_interval"].format(
            level=level, lower=fmt.number(row.lower, 1), upper=fmt.number(row.upper, 1)
        ),
    ]
    contributions = parse_contributions(row.top_contributions, row.h3_cell)
    shown = contributions[: settings.contributions_shown]
    if shown:
        lines.append(text["tooltip_contributions"])
        lines.extend(f"  {item.feature} {fmt.signed(item.contribution)}" for item in shown)
    return "\n".join(lines)


def build_top_cells(
    top: pd.DataFrame, settings: ReportSettings, fmt: Formatter
) -> list[dict[str, Any]]:
    rows = []
    for row in top.itertuples(index=False):
        contributions = parse_contributions(row.top_contributions, row.h3_cell)
        rows.append(
            {
                "rank": row.risk_rank,
                "cell": row.h3_cell,
                "predicted": fmt.number(row.predicted, 1),
                "interval": f"{fmt.number(row.lower, 1)} – {fmt.number(row.upper, 1)}",
                "contributions": [
                    f"{item.feature} {fmt.signed(item.contribution)}"
                    for item in contributions[: settings.contributions_shown]
                ],
            }
        )
    return rows


def order_methods(methods: list[str], model: str) -> list[str]:
    """Put the forecast model first, then the baselines by name."""
    return sorted(set(methods), key=lambda method: (method != model, method))


def build_backtest(run: ForecastRun, settings: ReportSettings, fmt: Formatter) -> dict[str, Any]:
    """Average each method's metrics over the folds and lay out the per-fold values."""
    backtests = run.backtests
    if backtests.empty:
        return {"metrics": [], "summary": [], "folds": [], "fold_count": 0}

    metrics = settings.order_metrics(list(backtests["metric"].unique()))
    methods = order_methods(list(backtests["method"].unique()), run.model)
    means = backtests.groupby(["method", "metric"])["value"].mean()
    fold_counts = backtests.groupby("method")["fold"].nunique()
    values = backtests.set_index(["fold", "method", "metric"])["value"]
    fold_starts = backtests.groupby("fold")["period_start"].min()

    summary = [
        {
            "method": method,
            "is_model": method == run.model,
            "folds": int(fold_counts[method]),
            "values": [fmt.number(means.get((method, metric))) for metric in metrics],
        }
        for method in methods
    ]
    folds = [
        {
            "fold": int(fold),
            "period": fmt.date(fold_starts[fold]),
            "method": method,
            "is_model": method == run.model,
            "values": [fmt.number(values.get((fold, method, metric))) for metric in metrics],
        }
        for fold in sorted(fold_starts.index)
        for method in methods
        if (backtests["fold"].eq(fold) & backtests["method"].eq(method)).any()
    ]
    return {
        "metrics": [settings.metric_label(metric) for metric in metrics],
        "summary": summary,
        "folds": folds,
        "fold_count": int(backtests["fold"].nunique()),
    }
