"""The cell x week count panel of a forecast target, built in Spark.

Weeks run Monday to Sunday on the silver ``local_date`` (the wall-clock date in the
source's time zone). A week is complete when the source table covers all seven days, so
the first and last weeks are dropped when the table starts after a Monday or ends before
a Sunday. The panel has one row per study cell and complete week, with zero counts for
weeks without incidents, plus ``horizon`` rows per cell for the weeks to forecast, whose
count is null.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from models.targets import TargetConfig

logger = logging.getLogger(__name__)

PANEL_COLUMNS = ["h3_cell", "week_start", "week_index", "count"]


class PanelError(ValueError):
    """The source table cannot give a panel for the target (too few weeks, wrong zone)."""


@dataclass(frozen=True)
class WeekRange:
    """The complete weeks of a source table, by the Monday that starts each week."""

    first_week: dt.date
    last_week: dt.date

    @property
    def n_weeks(self) -> int:
        return (self.last_week - self.first_week).days // 7 + 1

    def week_start(self, week_index: int) -> dt.date:
        return self.first_week + dt.timedelta(weeks=week_index)


def week_start_of(date_column: Column) -> Column:
    """Return the Monday on or before each date (Spark ``dayofweek``: Sunday 1 ... Saturday 7)."""
    from pyspark.sql import functions as F

    return F.date_sub(date_column, (F.dayofweek(date_column) + 5) % 7)


def complete_week_range(first_date: dt.date, last_date: dt.date) -> WeekRange:
    """Return the Monday-Sunday weeks that lie fully inside ``[first_date, last_date]``."""
    first_monday = first_date + dt.timedelta(days=(7 - first_date.weekday()) % 7)
    last_sunday = last_date - dt.timedelta(days=(last_date.weekday() + 1) % 7)
    if last_sunday < first_monday:
        raise PanelError(
            f"source dates {first_date}..{last_date} contain no complete Monday-Sunday week"
        )
    return WeekRange(first_monday, last_sunday - dt.timedelta(days=6))


def parent_cells(cells: Column, resolution: int) -> Column:
    """Return the H3 parent at ``resolution`` of each cell id of ``cells`` (hex strings).

    The parent is computed on the 64-bit index in Spark SQL, so no Python worker runs: the
    resolution field (bits 52-55) takes ``resolution``, and the 3-bit digits of the finer
    resolutions are set to 7, which marks them unused.
    """
    from pyspark.sql import functions as F

    resolution_field = 0xF << 52
    unused_digits = (1 << (3 * (15 - resolution))) - 1
    index = F.conv(cells, 16, 10).cast("bigint")
    parent = (
        index.bitwiseAND(F.lit(~resolution_field))
        .bitwiseOR(F.lit(resolution << 52))
        .bitwiseOR(F.lit(unused_digits))
    )
    return F.lower(F.hex(parent))


def select_target_incidents(silver: DataFrame, target: TargetConfig) -> DataFrame:
    """Return ``h3_cell`` and ``local_date`` of the silver incidents the target counts.

    Resolutions coarser than the finest one silver stores (7) are the parents of ``h3_r7``.
    """
    from pyspark.sql import functions as F

    from jobs.schemas import H3_RESOLUTIONS

    incidents = silver
    if target.offenses != "all":
        incidents = incidents.filter(F.col("offense").isin(list(target.offenses)))
    if target.h3_resolution in H3_RESOLUTIONS:
        cell = F.col(f"h3_r{target.h3_resolution}")
    else:
        coarsest = min(H3_RESOLUTIONS)
        cell = parent_cells(F.col(f"h3_r{coarsest}"), target.h3_resolution)
    return incidents.select(cell.alias("h3_cell"), F.col("local_date"))


def source_week_range(silver: DataFrame, target: TargetConfig) -> WeekRange:
    """Check the source's time zone and offences, and return its complete weeks.

    The weeks come from the dates of all offences, so a rare offence gets the same weeks.
    """
    from pyspark.sql import functions as F

    row = silver.agg(
        F.min("local_date").alias("first_date"),
        F.max("local_date").alias("last_date"),
        F.collect_set("timezone").alias("timezones"),
        F.collect_set("offense").alias("offenses"),
    ).first()
    if row is None or row["first_date"] is None:
        raise PanelError(f"source table {target.source_table} of target {target.name} is empty")
    zones = sorted(row["timezones"])
    if zones != [target.timezone]:
        raise PanelError(
            f"target {target.name} expects time zone {target.timezone} but source table "
            f"{target.source_table} has {zones}; fix timezone in conf/forecasts.yml"
        )
    if target.offenses != "all":
        missing = sorted(set(target.offenses) - set(row["offenses"]))
        if missing:
            raise PanelError(
                f"target {target.name} counts offences {missing} that source table "
                f"{target.source_table} does not contain; it has {sorted(row['offenses'])}"
            )
    weeks = complete_week_range(row["first_date"], row["last_date"])
    logger.info(
        "Source %s covers %s..%s: %d complete weeks from %s",
        target.source_table,
        row["first_date"],
        row["last_date"],
        weeks.n_weeks,
        weeks.first_week,
    )
    return weeks


def build_panel(incidents: DataFrame, weeks: WeekRange, horizon: int = 1) -> DataFrame:
    """Return one row per study cell and week, zeros included, plus ``horizon`` forecast weeks.

    The study area is every cell with at least one incident in ``incidents``, partial weeks
    included. ``week_index`` counts weeks from ``weeks.first_week`` (0). The forecast weeks
    follow ``weeks.last_week`` and have a null ``count``.

    NOTE: backtest folds use this study area too, so it includes cells whose first incident
    falls after a fold's evaluation week. Such cells have zero history and are rarely
    flagged, but they add to the cell count behind the flagged fraction.
    """
    from pyspark.sql import functions as F

    spark = incidents.sparkSession
    n_rows = weeks.n_weeks + horizon
    week_rows = [(index, weeks.week_start(index)) for index in range(n_rows)]
    calendar = spark.createDataFrame(week_rows, "week_index int, week_start date")
    cells = incidents.select("h3_cell").distinct()

    counts = (
        incidents.withColumn("week_start", week_start_of(F.col("local_date")))
        .filter(F.col("week_start").between(weeks.first_week, weeks.last_week))
        .groupBy("h3_cell", "week_start")
        .agg(F.count(F.lit(1)).cast("double").alias("observed"))
    )
    is_complete = F.col("week_index") < weeks.n_weeks
    return (
        cells.crossJoin(calendar)
        .join(counts, on=["h3_cell", "week_start"], how="left")
        .withColumn(
            "count",
            F.when(is_complete, F.coalesce(F.col("observed"), F.lit(0.0))).otherwise(
                F.lit(None).cast("double")
            ),
        )
        .select(*PANEL_COLUMNS)
    )


def select_target_coordinates(
    silver: DataFrame, target: TargetConfig, weeks: WeekRange
) -> DataFrame:
    """Return ``lat``, ``lon`` and ``week_index`` of the target's incidents in complete weeks.

    Incidents without coordinates are left out.
    """
    from pyspark.sql import functions as F

    incidents = silver
    if target.offenses != "all":
        incidents = incidents.filter(F.col("offense").isin(list(target.offenses)))
    days = F.datediff(week_start_of(F.col("local_date")), F.lit(weeks.first_week))
    week_index = (days / 7).cast("int")
    return (
        incidents.filter(F.col("lat").isNotNull() & F.col("lon").isNotNull())
        .select(
            F.col("lat").cast("double").alias("lat"),
            F.col("lon").cast("double").alias("lon"),
            week_index.alias("week_index"),
        )
        .filter(F.col("week_index").between(0, weeks.n_weeks - 1))
    )
