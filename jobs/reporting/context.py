"""Build the template context of the forecast report from one forecast run."""

from __future__ import annotations

import logging
import math
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h3
import yaml

from jobs.reporting.charts import Series, line_chart
from jobs.reporting.data import ForecastRun, parse_contributions, to_date
from jobs.reporting.districts import District, read_districts
from jobs.reporting.formatting import Formatter
from jobs.reporting.hexmap import (
    COLOUR_RAMP,
    Projection,
    cell_ring,
    colour_classes,
    colour_for,
)
from jobs.reporting.lake import build_lake_sections
from models.backtest import MODEL_METHOD

if TYPE_CHECKING:
    import pandas as pd

    from jobs.reporting.settings import ReportSettings
    from jobs.settings import Profile

logger = logging.getLogger(__name__)

MESSAGES_DIR = Path(__file__).resolve().parent / "messages"

# Metric names written by the forecast job: pai_5pct, pei_star_2p5pct, hit_rate_1pct,
# and interval_coverage_80 for the share of actual counts inside the 80% interval.
_SHARE_METRIC = re.compile(r"^(pai|pei_star|hit_rate)_(\d+(?:p\d+)?)pct$")
_COVERAGE_METRIC = re.compile(r"^interval_coverage_(\d+(?:\.\d+)?)$")

# Smallest hexagon circumradius, in SVG units, that fits a legible rank number.
MIN_LABEL_RADIUS = 7.0

# Hexagon fills dark enough to need a white rank label.
_DARK_FILLS = set(COLOUR_RAMP[-2:])


def load_messages(language: str) -> dict[str, str]:
    """Load the report text of one language from ``messages/<language>.yml``."""
    path = MESSAGES_DIR / f"{language}.yml"
    if not path.exists():
        raise FileNotFoundError(f"report text not found for language {language!r}: {path}")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def metric_label(name: str, text: dict[str, str], fmt: Formatter) -> str:
    """Return the display label of a metric name such as ``pai_5pct`` ("PAI 5%").

    Names without a label in the text catalogue are returned unchanged.
    """
    share_match = _SHARE_METRIC.match(name)
    if share_match:
        share = float(share_match.group(2).replace("p", ".")) / 100
        return f"{text['metric_' + share_match.group(1)]} {fmt.percent(share)}"
    coverage_match = _COVERAGE_METRIC.match(name)
    if coverage_match:
        level = fmt.percent(float(coverage_match.group(1)) / 100)
        return text["metric_interval_coverage"].format(level=level)
    return text.get(f"metric_{name}", name)


def is_model_method(method: str, model: str) -> bool:
    """Tell whether a backtest method is the forecast model rather than a baseline."""
    return method in (MODEL_METHOD, model)


def method_label(method: str, model: str, text: dict[str, str]) -> str:
    """Return the display name of a backtest method, naming the model behind ``model``."""
    if method == MODEL_METHOD:
        return text["method_model"].format(model=model)
    return text.get(f"method_{method}", method)


def build_context(
    run: ForecastRun,
    settings: ReportSettings,
    generated_at: datetime,
    real_data_dir: Path | None = None,
    profile: Profile | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Return everything the report template shows, with numbers already formatted.

    District layers are read relative to ``real_data_dir``. Without it no outlines are drawn.
    With ``profile``, the quality section of the silver table ``source``, the hot spot,
    appeal and media sections are read from its lake, and the fraud registration section
    from its marts. Without it they are left out.
    """
    text = load_messages(settings.language)
    fmt = Formatter(settings.language)
    level = fmt.percent(settings.interval_level)
    top = run.forecasts.head(settings.top_cells)
    lake_sections = {
        "quality": None,
        "hotspots": None,
        "appeals": None,
        "media": None,
        "fraud": None,
    }
    if profile is not None:
        lake_sections = build_lake_sections(profile, run.target, source, settings.language, text)

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
        "map": _map_unless_regions(
            run,
            top,
            settings,
            text,
            fmt,
            real_data_dir,
            profile.landing if profile is not None else None,
        ),
        "top_cells": build_top_cells(top, settings, fmt),
        "backtest": build_backtest(run, settings, text, fmt),
        "trends": build_trends(run, settings, text, fmt),
        **lake_sections,
    }


def load_district_layers(
    settings: ReportSettings,
    real_data_dir: Path,
    bounds: tuple[float, float, float, float],
    landing_dir: Path | None = None,
) -> list[District]:
    """Read every configured district layer cut to ``bounds``, skipping absent files.

    A layer relative to the landing folder is skipped when ``landing_dir`` is None.
    """
    import dataclasses

    folders = {"real_data": real_data_dir, "landing": landing_dir}
    districts: list[District] = []
    for layer in settings.district_layers:
        path = Path(layer.path)
        if not path.is_absolute():
            if folders[layer.folder] is None:
                continue
            path = folders[layer.folder] / path
        if not path.exists():
            logger.warning("district layer %s not found, drawing the map without it", path)
            continue
        districts.extend(
            dataclasses.replace(district, kind=layer.kind)
            for district in read_districts(path, layer.name_field, bounds, layer.crs)
        )
    return districts


def _map_unless_regions(run: ForecastRun, top, settings, text, fmt, real_data_dir, landing_dir):
    """Return the cell map, or None for a region target, whose units have no H3 outline."""
    if "unit" in run.forecasts.columns and (run.forecasts["unit"] != "h3").any():
        logger.info(
            "report of target %s has no map: it forecasts %s units, and the map draws H3 cells",
            run.target,
            ",".join(sorted(set(run.forecasts["unit"]))),
        )
        return None
    return build_map(run.forecasts, top, settings, text, fmt, real_data_dir, landing_dir)


def build_map(
    study: pd.DataFrame,
    top: pd.DataFrame,
    settings: ReportSettings,
    text: dict[str, str],
    fmt: Formatter,
    real_data_dir: Path | None = None,
    landing_dir: Path | None = None,
) -> dict[str, Any]:
    """Project the study cells, district outlines and the top cells coloured by forecast."""
    study_rings = [cell_ring(cell) for cell in study["h3_cell"]]
    projection = Projection(point for ring in study_rings for point in ring)
    classes = colour_classes(list(top["predicted"]))
    level = fmt.percent(settings.interval_level)

    districts = []
    if real_data_dir is not None:
        districts = [
            {
                "title": text[f"{district.kind}_title"].format(name=district.name),
                "path": projection.path_data(district.lines, closed=False),
                "kind": district.kind,
            }
            for district in load_district_layers(
                settings, real_data_dir, projection.bounds, landing_dir
            )
        ]
    outline_kinds = sorted({district["kind"] for district in districts})

    hexagons = []
    radius = 0.0
    for row in top.itertuples(index=False):
        centre_x, centre_y = projection.project(*h3.cell_to_latlng(row.h3_cell))
        ring = cell_ring(row.h3_cell)
        corner_x, corner_y = projection.project(*ring[0])
        radius = max(radius, math.hypot(corner_x - centre_x, corner_y - centre_y))
        fill = colour_for(row.predicted, classes)
        hexagons.append(
            {
                "cell": row.h3_cell,
                "rank": row.risk_rank,
                "points": projection.points_attribute(ring),
                "fill": fill,
                "label_colour": "#ffffff" if fill in _DARK_FILLS else "#000000",
                "x": f"{centre_x:.1f}",
                "y": f"{centre_y:.1f}",
                "title": hexagon_title(row, settings, text, fmt, level),
            }
        )

    # Rank numbers fit inside hexagons whose circumradius is at least MIN_LABEL_RADIUS units.
    # Smaller hexagons, as on a city-wide map, get a ring around them so they stay visible.
    show_labels = radius >= MIN_LABEL_RADIUS
    return {
        "show_labels": show_labels,
        "label_size": f"{min(9.0, radius * 0.9):.1f}",
        "halo_radius": f"{max(radius * 2, 6.0):.1f}",
        "width": f"{projection.width:.0f}",
        "height": f"{projection.height:.0f}",
        "label": text["map_label"].format(count=len(hexagons)),
        "study_path": projection.path_data(study_rings),
        "districts": districts,
        "outline_legends": [text[f"legend_{kind}s"] for kind in outline_kinds],
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
    listed = contributions[: settings.contributions_shown]
    if listed:
        lines.append(text["tooltip_contributions"])
        lines.extend(f"  {item.feature} {fmt.signed(item.contribution)}" for item in listed)
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
    return sorted(set(methods), key=lambda method: (not is_model_method(method, model), method))


def build_backtest(
    run: ForecastRun, settings: ReportSettings, text: dict[str, str], fmt: Formatter
) -> dict[str, Any]:
    """Average each method's metrics over the folds and lay out the per-fold values."""
    backtests = run.backtests
    if backtests.empty:
        return {"metrics": [], "fold_metrics": [], "summary": [], "folds": [], "fold_count": 0}

    metrics = settings.order_metrics(list(backtests["metric"].unique()))
    fold_metrics = [metric for metric in metrics if metric in settings.fold_metrics] or metrics
    methods = order_methods(list(backtests["method"].unique()), run.model)
    means = backtests.groupby(["method", "metric"])["value"].mean()
    fold_counts = backtests.groupby("method")["fold"].nunique()
    values = backtests.set_index(["fold", "method", "metric"])["value"]
    fold_starts = backtests.groupby("fold")["period_start"].min()

    summary = [
        {
            "method": method_label(method, run.model, text),
            "is_model": is_model_method(method, run.model),
            "folds": int(fold_counts[method]),
            "values": [fmt.number(means.get((method, metric))) for metric in metrics],
        }
        for method in methods
    ]
    folds = [
        {
            "fold": int(fold),
            "period": fmt.date(fold_starts[fold]),
            "method": method_label(method, run.model, text),
            "is_model": is_model_method(method, run.model),
            "values": [fmt.number(values.get((fold, method, metric))) for metric in fold_metrics],
        }
        for fold in sorted(fold_starts.index)
        for method in methods
        if (backtests["fold"].eq(fold) & backtests["method"].eq(method)).any()
    ]
    return {
        "metrics": [metric_label(metric, text, fmt) for metric in metrics],
        "fold_metrics": [metric_label(metric, text, fmt) for metric in fold_metrics],
        "summary": summary,
        "folds": folds,
        "fold_count": int(backtests["fold"].nunique()),
    }


def build_trends(
    run: ForecastRun, settings: ReportSettings, text: dict[str, str], fmt: Formatter
) -> list[dict[str, Any]]:
    """Lay out the trend charts: predicted total per period, then each trend metric per fold."""
    charts = []
    history = run.history
    if not history.empty:
        charts.append(
            {
                "heading": text["trend_total_heading"],
                "note": text["trend_total_note"],
                "chart": line_chart(
                    [fmt.short_date(to_date(value)) for value in history["period_start"]],
                    [Series(text["trend_total_series"], list(history["predicted"]), True)],
                    fmt.number,
                    value_digits=1,
                ),
            }
        )

    backtests = run.backtests
    if backtests.empty:
        return charts
    folds = backtests.groupby("fold")["period_start"].min().sort_index()
    methods = order_methods(list(backtests["method"].unique()), run.model)
    values = backtests.set_index(["fold", "method", "metric"])["value"]
    for metric in settings.trend_metrics:
        if metric not in set(backtests["metric"]):
            continue
        series = [
            Series(
                method_label(method, run.model, text),
                [values.get((fold, method, metric)) for fold in folds.index],
                is_model_method(method, run.model),
            )
            for method in methods
        ]
        label = metric_label(metric, text, fmt)
        charts.append(
            {
                "heading": text["trend_metric_heading"].format(metric=label),
                "note": "",
                "chart": line_chart(
                    [fmt.short_date(to_date(value)) for value in folds],
                    series,
                    fmt.number,
                ),
            }
        )
    return charts
