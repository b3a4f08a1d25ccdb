"""``boljam report``: write the self-contained HTML forecast report of one target.

The report shows the latest forecast run of the target from the gold Delta tables: a map
of the top-ranked H3 cells of the next period, their forecasts and explanations, and the
backtest metrics of the model and its baselines. Where the lake has the data, it also shows
the freshness and quality of the target's silver table, the target's emerging hot spots and
the counts of citizen appeals and media items (jobs.reporting.lake).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobs.reporting.settings import ReportSettings
    from jobs.settings import Profile

logger = logging.getLogger(__name__)

_TARGET_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", required=True, help="forecast target name, as in gold tables")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder to write the report into; default <profile var dir>/reports",
    )


def run(args: argparse.Namespace) -> int:
    from jobs.reporting.data import ReportDataError
    from jobs.settings import load_profile

    profile = load_profile()
    out_dir = args.out or profile.var / "reports"
    try:
        write_report(args.target, out_dir, profile)
    except ReportDataError as error:
        logger.error("report of target %s failed: %s", args.target, error)
        return 1
    return 0


def source_table_of(target: str, profile: Profile) -> str | None:
    """Return the silver table the target counts, or None when the target is not configured."""
    from jobs.settings import ConfigError
    from models.targets import get_target

    try:
        return get_target(target, profile.forecasts_path).source_table
    except (ConfigError, OSError) as error:
        logger.warning("report of target %s has no quality section: %s", target, error)
        return None


def write_report(
    target: str,
    out_dir: Path,
    profile: Profile | None = None,
    settings: ReportSettings | None = None,
    generated_at: datetime | None = None,
) -> Path:
    """Write ``<out_dir>/<target>_<period start>.html`` and return its path.

    When the settings ask for a PDF, the same report is also written with a .pdf suffix.
    ``profile`` defaults to the active profile and ``settings`` to ``conf/reports.yml``.
    Raises ReportDataError when the gold tables contain no forecast of ``target``.
    """
    from jobs.reporting.context import build_context
    from jobs.reporting.data import read_latest_run
    from jobs.reporting.render import render_html, write_pdf
    from jobs.reporting.settings import load_report_settings
    from jobs.settings import load_profile

    if not _TARGET_NAME.match(target):
        raise ValueError(f"invalid target name {target!r}: use letters, digits, _ and -")
    profile = profile or load_profile()
    settings = settings or load_report_settings()
    generated_at = generated_at or datetime.now(UTC)

    forecast_run = read_latest_run(profile, target, settings.model_for(target))
    context = build_context(
        forecast_run,
        settings,
        generated_at,
        profile.real_data,
        profile,
        source_table_of(target, profile),
    )
    html = render_html(context)

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{target}_{forecast_run.period_start.isoformat()}.html"
    partial = path.with_suffix(".html.partial")
    partial.write_text(html, encoding="utf-8")
    os.replace(partial, path)
    logger.info("wrote HTML report %s", path)

    if settings.pdf:
        pdf_path = path.with_suffix(".pdf")
        partial = path.with_suffix(".pdf.partial")
        write_pdf(render_html(context, for_pdf=True), partial)
        os.replace(partial, pdf_path)
        logger.info("wrote PDF report %s", pdf_path)
    return path
