"""Build the report sections read from the lake beside the forecast run.

The sections are data freshness and quality of the target's silver source, the target's
emerging hot spots, the complaint and media summaries, and the fraud registration
coverage of the kz marts. Each builder returns None when its tables are missing, so the
template leaves the section out.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.reporting.formatting import MISSING, Formatter

if TYPE_CHECKING:
    import pandas as pd

    from jobs.settings import Profile

logger = logging.getLogger(__name__)

# Emerging hot spot classes in display order, as written by jobs.hotspots.analysis.
PATTERN_ORDER = [
    f"{kind}_{spot}"
    for spot in ("hot_spot", "cold_spot")
    for kind in (
        "new",
        "consecutive",
        "intensifying",
        "persistent",
        "diminishing",
        "sporadic",
        "oscillating",
        "historical",
    )
] + ["no_pattern"]

# Classes whose cells the hot spot section lists one by one.
FOCUS_PATTERNS = ("new_hot_spot", "intensifying_hot_spot")

# Maximum number of cells listed in the hot spot section.
FOCUS_CELLS_SHOWN = 10

# The fraud registration mart of the kz marts, and how many of its latest weeks the
# report shows as columns beside the share over all weeks.
FRAUD_REGISTRATION_MART = "agg_kz_fraud_registration_weekly"
FRAUD_WEEKS_SHOWN = 4


def read_table(path: Path, columns: list[str] | None = None) -> pd.DataFrame | None:
    """Return the Delta table at ``path`` as a frame, or None when there is no table."""
    from deltalake import DeltaTable

    if not DeltaTable.is_deltatable(str(path)):
        return None
    return DeltaTable(str(path)).to_pandas(columns=columns)


def count_rows(frame: pd.DataFrame, column: str, fmt: Formatter) -> list[dict[str, str]]:
    """Count the rows per value of ``column``, largest count first, then by value."""
    counts = frame[column].fillna("–").astype(str).value_counts()
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [{"label": value, "count": fmt.number(int(size), 0)} for value, size in ordered]


def build_freshness(profile: Profile, source: str, fmt: Formatter) -> dict[str, str] | None:
    """Describe the last commit of the silver table of ``source`` from its Delta history."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    path = profile.table_path("silver", source)
    if not DeltaTable.is_deltatable(str(path)):
        logger.warning("silver table %s not found, the report shows no freshness", path)
        return None
    table = DeltaTable(str(path))
    commit = table.history(1)[0]
    actions = pa.table(table.get_add_actions(flatten=True))
    rows = pc.sum(actions["num_records"]).as_py() if actions.num_rows else 0
    metrics = commit.get("operationMetrics") or {}
    # A MERGE commit counts inserted target rows, a WRITE commit counts added rows.
    inserted = metrics.get("num_target_rows_inserted", metrics.get("num_added_rows"))
    updated = metrics.get("num_target_rows_updated")
    loaded_at = datetime.fromtimestamp(commit["timestamp"] / 1000, tz=UTC)
    return {
        "table": f"silver/{source}",
        "loaded_at": fmt.datetime_utc(loaded_at),
        "version": str(table.version()),
        "operation": str(commit.get("operation", "")),
        "rows": fmt.number(rows or 0, 0),
        "inserted": fmt.number(inserted, 0) if inserted is not None else "–",
        "updated": fmt.number(updated, 0) if updated is not None else "–",
    }


def build_rejects(profile: Profile, source: str, fmt: Formatter) -> list[dict[str, str]] | None:
    """Count the rejected rows of ``source`` per reason code, or return None without a table."""
    frame = read_table(profile.table_path("silver", "rejects"), ["source", "reason_code"])
    if frame is None:
        return None
    return count_rows(frame[frame["source"] == source], "reason_code", fmt)


def latest_validation(profile: Profile, source: str) -> dict | None:
    """Return the newest stored Great Expectations result of the source's silver suite.

    jobs.quality runs the suite ``silver_<source>`` in a file context under ``<var>/gx``,
    which stores each result as JSON under ``uncommitted/validations/silver_<source>``.
    """
    folder = profile.var / "gx" / "uncommitted" / "validations" / f"silver_{source}"
    newest: dict | None = None
    newest_time: datetime | None = None
    for path in sorted(folder.rglob("*.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
            validated_at = datetime.fromisoformat(result["meta"]["validation_time"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            logger.warning("skipping unreadable validation result %s: %s", path, error)
            continue
        if newest_time is None or validated_at > newest_time:
            newest, newest_time = result, validated_at
    return newest


def build_validation(
    profile: Profile, source: str, text: dict[str, str], fmt: Formatter
) -> dict[str, Any] | None:
    result = latest_validation(profile, source)
    if result is None:
        return None
    statistics = result.get("statistics") or {}
    failed = [
        expectation_name(item["expectation_config"])
        for item in result.get("results", [])
        if not item.get("success")
    ]
    return {
        "validated_at": fmt.datetime_utc(datetime.fromisoformat(result["meta"]["validation_time"])),
        "status": text["quality_passed"] if result.get("success") else text["quality_failed"],
        "evaluated": fmt.number(statistics.get("evaluated_expectations"), 0),
        "successful": fmt.number(statistics.get("successful_expectations"), 0),
        "failed": failed,
    }


def expectation_name(config: dict) -> str:
    """Return the expectation type followed by its column in brackets, when it has one."""
    column = (config.get("kwargs") or {}).get("column")
    if column:
        return f"{config['type']} ({column})"
    return config["type"]


def build_quality(
    profile: Profile, source: str | None, text: dict[str, str], fmt: Formatter
) -> dict[str, Any] | None:
    """Lay out the freshness, rejects and validation of the target's silver source."""
    if source is None:
        return None
    freshness = build_freshness(profile, source, fmt)
    rejects = build_rejects(profile, source, fmt)
    validation = build_validation(profile, source, text, fmt)
    if freshness is None and rejects is None and validation is None:
        return None
    return {
        "source": source,
        "freshness": freshness,
        "rejects": rejects,
        "validation": validation,
    }


def build_hotspots(
    profile: Profile, target: str, text: dict[str, str], fmt: Formatter
) -> dict[str, Any] | None:
    """Count the target's cells per emerging hot spot class and list the focus cells."""
    from jobs.hotspots.job import read_hotspots

    rows = read_hotspots(profile, target)
    if rows.empty:
        return None
    counts = rows["pattern"].value_counts()
    known = [pattern for pattern in PATTERN_ORDER if pattern in counts.index]
    others = sorted(pattern for pattern in counts.index if pattern not in PATTERN_ORDER)
    classes = [
        {
            "label": pattern_label(pattern, text),
            "count": fmt.number(int(counts[pattern]), 0),
        }
        for pattern in known + others
    ]

    focus = rows[rows["pattern"].isin(FOCUS_PATTERNS)].copy()
    focus["order"] = focus["pattern"].map(FOCUS_PATTERNS.index)
    focus = focus.sort_values(["order", "last_gi_z", "h3_cell"], ascending=[True, False, True])
    cells = [
        {
            "cell": row.h3_cell,
            "pattern": pattern_label(row.pattern, text),
            "last_z": fmt.number(row.last_gi_z),
            "trend_z": fmt.number(row.trend_z),
            "trend_p": fmt.number(row.trend_p, 3),
            "hot_weeks": f"{fmt.number(row.hot_weeks, 0)} / {fmt.number(row.weeks, 0)}",
        }
        for row in focus.head(FOCUS_CELLS_SHOWN).itertuples(index=False)
    ]
    return {
        "last_week": fmt.date(rows["last_week"].max()),
        "cell_count": fmt.number(len(rows), 0),
        "classes": classes,
        "cells": cells,
        "focus_count": len(focus),
    }


def pattern_label(pattern: str, text: dict[str, str]) -> str:
    if pattern == "no_pattern":
        return text["report_no_pattern"]
    return text.get(f"pattern_{pattern}") or pattern


def build_appeals(profile: Profile, fmt: Formatter) -> dict[str, Any] | None:
    """Count the silver citizen appeals per category and per urgency."""
    frame = read_table(profile.table_path("silver", "appeals"))
    if frame is None or frame.empty:
        return None
    overdue = int(frame["is_overdue"].sum()) if "is_overdue" in frame else None
    return {
        "total": fmt.number(len(frame), 0),
        "overdue": fmt.number(overdue, 0) if overdue is not None else None,
        "categories": count_rows(frame, "category", fmt),
        "urgencies": count_rows(frame, "urgency", fmt),
    }


def build_media(profile: Profile, fmt: Formatter) -> dict[str, Any] | None:
    """Count the silver media items per threat class."""
    frame = read_table(profile.table_path("silver", "media_items"))
    if frame is None or frame.empty or "threat_class" not in frame:
        return None
    return {
        "total": fmt.number(len(frame), 0),
        "classes": count_rows(frame, "threat_class", fmt),
    }


def read_mart(profile: Profile, name: str) -> pd.DataFrame | None:
    """Return the table ``marts.<name>`` of the profile's DuckDB marts file, or None.

    None means no file, no such table, or a file that another process has open for writing.
    """
    import duckdb

    if profile.dbt.target != "duckdb":
        # NOTE: marts built on the postgres target are not read, so their sections are left out.
        return None
    path = profile.path(profile.dbt.duckdb_path)
    if not path.exists():
        return None
    config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    try:
        with duckdb.connect(str(path), read_only=True, config=config) as connection:
            found = connection.execute(
                "select count(*) from information_schema.tables"
                " where table_schema = 'marts' and table_name = ?",
                [name],
            ).fetchone()[0]
            if not found:
                return None
            return connection.execute(f'select * from marts."{name}"').df()
    except duckdb.IOException as error:
        logger.warning("marts file %s could not be read, leaving out %s: %s", path, name, error)
        return None


def registration_share(registered: int, unregistered: int, fmt: Formatter) -> str:
    """Format unregistered / (registered + unregistered) as the mart defines it."""
    if registered + unregistered == 0:
        return MISSING
    return fmt.percent(unregistered / (registered + unregistered))


def build_fraud_registration(profile: Profile, fmt: Formatter) -> dict[str, Any] | None:
    """Tabulate the share of fraud incidents never registered, per region and latest weeks.

    Reads the kz mart ``agg_kz_fraud_registration_weekly``. Each region row has the share
    over all weeks and the share of each of the last ``FRAUD_WEEKS_SHOWN`` weeks.
    """
    import pandas as pd

    frame = read_mart(profile, FRAUD_REGISTRATION_MART)
    if frame is None or frame.empty:
        return None
    frame["week_start"] = pd.to_datetime(frame["week_start"]).dt.date
    weeks = sorted(frame["week_start"].unique())
    shown = weeks[-FRAUD_WEEKS_SHOWN:]
    counts = ["incident_count", "registered_count", "unregistered_count", "unidentified_count"]

    def row_of(label: str, rows: pd.DataFrame) -> dict[str, Any]:
        totals = rows[counts].sum()
        by_week = rows.groupby("week_start")[counts].sum()
        week_shares = [
            registration_share(
                int(by_week.at[week, "registered_count"]),
                int(by_week.at[week, "unregistered_count"]),
                fmt,
            )
            if week in by_week.index
            else MISSING
            for week in shown
        ]
        return {
            "region": label,
            "incidents": fmt.number(int(totals["incident_count"]), 0),
            "unregistered": fmt.number(int(totals["unregistered_count"]), 0),
            "unidentified": fmt.number(int(totals["unidentified_count"]), 0),
            "share": registration_share(
                int(totals["registered_count"]), int(totals["unregistered_count"]), fmt
            ),
            "weeks": week_shares,
        }

    regions = [row_of(str(code), rows) for code, rows in frame.groupby("region_code", sort=True)]
    return {
        "first_week": fmt.date(weeks[0]),
        "last_week": fmt.date(weeks[-1]),
        "weeks": [fmt.short_date(week) for week in shown],
        "regions": regions,
        "total": row_of("", frame),
    }


def build_lake_sections(
    profile: Profile, target: str, source: str | None, language: str, text: dict[str, str]
) -> dict[str, Any]:
    """Return the template context of every lake section, None for those without data."""
    fmt = Formatter(language)
    return {
        "quality": build_quality(profile, source, text, fmt),
        "hotspots": build_hotspots(profile, target, text, fmt),
        "appeals": build_appeals(profile, fmt),
        "media": build_media(profile, fmt),
        "fraud": build_fraud_registration(profile, fmt),
    }
