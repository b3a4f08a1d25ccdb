"""Build, write and send the PDF letter of one region."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.reporting.formatting import Formatter

if TYPE_CHECKING:
    import pandas as pd

    from jobs.letters.settings import LetterSettings, RegionSettings
    from jobs.settings import Profile

logger = logging.getLogger(__name__)

# Hot spot classes that call for attention now: hot in the final week and new, lasting or
# growing. A top forecast cell in one of these classes is named first in the focus list.
FOCUS_PATTERNS = (
    "new_hot_spot",
    "consecutive_hot_spot",
    "intensifying_hot_spot",
    "persistent_hot_spot",
)
# Cells named in the focus list of a target.
FOCUS_CELLS = 3


@dataclass(frozen=True)
class Letter:
    region: str
    recipient: str
    subject: str
    body: str
    pdf: Path


def hotspot_rows(hotspots: pd.DataFrame, limit: int, text: dict, fmt: Formatter) -> list[dict]:
    """List the hot and cold spots of a target, focus classes first, then by last-week |z|."""
    spots = hotspots[hotspots["pattern"] != "no_pattern"].copy()
    spots["is_focus"] = spots["pattern"].isin(FOCUS_PATTERNS)
    spots["strength"] = spots["last_gi_z"].abs()
    spots = spots.sort_values(["is_focus", "strength", "h3_cell"], ascending=[False, False, True])
    return [
        {
            "cell": row.h3_cell,
            "pattern": text.get(f"pattern_{row.pattern}", row.pattern),
            "last_z": fmt.number(row.last_gi_z),
            "trend": fmt.number(row.trend_z),
            "trend_p": fmt.number(row.trend_p, 3),
            "hot_weeks": f"{row.hot_weeks} / {row.weeks}",
        }
        for row in spots.head(limit).itertuples(index=False)
    ]


def focus_cells(top: pd.DataFrame, hotspots: pd.DataFrame) -> list[str]:
    """Pick the cells to focus on: top forecast cells that are hot spots, then the top cells."""
    focus_set = set(hotspots.loc[hotspots["pattern"].isin(FOCUS_PATTERNS), "h3_cell"])
    first = [cell for cell in top["h3_cell"] if cell in focus_set]
    rest = [cell for cell in top["h3_cell"] if cell not in focus_set]
    return (first + rest)[:FOCUS_CELLS]


def latest_forecast(profile: Profile, target: str) -> pd.DataFrame:
    """Return the forecast rows of the first period of the latest run, by risk rank.

    The run and model are chosen as in the forecast report. Backtests are not needed.
    """
    from jobs.reporting.data import ReportDataError, latest_run_id, pick_model, read_delta

    forecasts = read_delta(profile.table_path("gold", "forecasts"), target)
    if forecasts.empty:
        raise ReportDataError(f"no forecast rows for target {target!r} in the gold table")
    run_id = latest_run_id(forecasts)
    rows = forecasts[forecasts["run_id"] == run_id]
    rows = rows[rows["model"] == pick_model(rows, run_id, None)]
    rows = rows[rows["period_start"] == rows["period_start"].min()]
    if "area_id" in rows.columns:
        # Sections name each unit by h3_cell, which is null on region rows, so those rows get
        # their region code there.
        rows = rows.assign(h3_cell=rows["h3_cell"].fillna(rows["area_id"]))
    return rows.sort_values(["risk_rank", "h3_cell"]).reset_index(drop=True)


def period_text(start, period: str, fmt: Formatter) -> str:
    """Return the forecast period as its date (a day) or as its first and last dates."""
    import datetime as dt

    from models.panel import add_periods

    if period == "day":
        return fmt.date(start)
    last = add_periods(start, period, 1) - dt.timedelta(days=1)
    return f"{fmt.date(start)} – {fmt.date(last)}"


def target_section(
    profile: Profile,
    target: str,
    settings: LetterSettings,
    text: dict,
    fmt: Formatter,
    cells: set[str] | None = None,
) -> dict[str, Any]:
    """Return the letter section of one target: top cells, hot spots and focus cells.

    With ``cells`` the section lists only those cells, each with its rank among all cells
    of the target.
    """
    from jobs.hotspots.job import read_hotspots
    from jobs.reporting.data import ReportDataError, to_date

    hotspots = read_hotspots(profile, target)
    if cells is not None:
        hotspots = hotspots[hotspots["h3_cell"].isin(cells)]
    section: dict[str, Any] = {
        "target": target,
        "period": None,
        "top_cells": [],
        "hotspots": hotspot_rows(hotspots, settings.hotspots_shown, text, fmt),
        "focus": [],
    }
    try:
        forecasts = latest_forecast(profile, target)
    except ReportDataError as error:
        logger.warning("letter section of target %s has no forecast: %s", target, error)
        return section
    period_start = forecasts["period_start"].iloc[0]
    # Gold rows written before forecast periods existed were all weekly.
    period = forecasts["period"].iloc[0] if "period" in forecasts.columns else "week"
    if cells is not None:
        forecasts = forecasts[forecasts["h3_cell"].isin(cells)]
    top = forecasts.head(settings.top_cells)
    patterns = dict(zip(hotspots["h3_cell"], hotspots["pattern"], strict=True))
    section["period"] = period_text(to_date(period_start), period, fmt)
    section["top_cells"] = [
        {
            "rank": row.risk_rank,
            "cell": row.h3_cell,
            "predicted": fmt.number(row.predicted, 1),
            "interval": f"{fmt.number(row.lower, 1)} – {fmt.number(row.upper, 1)}",
            "pattern": text.get(f"pattern_{patterns.get(row.h3_cell, 'no_pattern')}", ""),
        }
        for row in top.itertuples(index=False)
    ]
    section["focus"] = focus_cells(top, hotspots)
    return section


def render_letter(context: dict[str, Any]) -> str:
    """Render ``letter.html.j2`` and check that it references nothing outside the file."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from jobs.reporting.render import TEMPLATES_DIR, check_self_contained

    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=StrictUndefined
    )
    html = environment.get_template("letter.html.j2").render(context)
    check_self_contained(html)
    return html


def write_letter(
    profile: Profile,
    region: str,
    region_settings: RegionSettings,
    settings: LetterSettings,
    generated_at: datetime,
    cells: dict[str, set[str]] | None = None,
) -> Letter:
    """Write ``<var>/outbox/<date>/<region>_<date>.pdf`` and return the letter to send.

    ``cells`` limits each target's section to the region's cells of that target.
    """
    from jobs.reporting.context import load_messages
    from jobs.reporting.render import write_pdf

    text = load_messages(settings.language)
    fmt = Formatter(settings.language)
    sections = [
        target_section(
            profile, target, settings, text, fmt, None if cells is None else cells[target]
        )
        for target in region_settings.targets
    ]
    subject = text["letter_subject"].format(
        region=region_settings.name, date=fmt.date(generated_at.date())
    )
    context = {
        "language": settings.language,
        "text": text,
        "subject": subject,
        "agency": region_settings.agency,
        "region": region_settings.name,
        "date": fmt.date(generated_at.date()),
        "generated_at": fmt.datetime_utc(generated_at),
        "sections": sections,
    }
    day = generated_at.date().isoformat()
    out_dir = profile.var / "outbox" / day
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{region}_{day}.pdf"
    partial = path.with_suffix(".pdf.partial")
    write_pdf(render_letter(context), partial)
    os.replace(partial, path)
    logger.info("wrote letter of region %s to %s", region, path)
    body = text["letter_mail_body"].format(agency=region_settings.agency, date=context["date"])
    return Letter(region, region_settings.recipient, subject, body, path)
