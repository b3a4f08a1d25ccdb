"""The unit x period count panel of a forecast target, built in Spark.

Periods are days, Monday-Sunday weeks or calendar months of the silver ``local_date`` (the
wall-clock date in the source's time zone). A period is complete when the source table
covers all its days, so the first and last periods are dropped when the table starts after
a period's first day or ends before its last day. The panel has one row per study unit and
complete period, with zero counts for periods without incidents, plus ``horizon`` rows per
unit for the periods to forecast, whose count is null.

The panel's columns keep their weekly H3 names for every target, because the feature,
backtest and baseline code reads them. ``h3_cell`` is the unit id, an H3 cell or a region
code. ``week_index`` counts periods from the first complete one (0), and ``week_start`` is
the period's first day.
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
    """The source table cannot give a panel for the target (too few periods, wrong zone)."""


def period_floor(date: dt.date, period: str) -> dt.date:
    """Return the first day of the day, Monday-Sunday week or calendar month of ``date``."""
    if period == "day":
        return date
    if period == "week":
        return date - dt.timedelta(days=date.weekday())
    if period == "month":
        return date.replace(day=1)
    raise ValueError(f"unknown period {period!r}; expected day, week or month")


def add_periods(start: dt.date, period: str, count: int) -> dt.date:
    """Return the first day of the period ``count`` periods after the one starting at ``start``."""
    if period == "day":
        return start + dt.timedelta(days=count)
    if period == "week":
        return start + dt.timedelta(weeks=count)
    if period == "month":
        months = start.year * 12 + start.month - 1 + count
        return dt.date(months // 12, months % 12 + 1, 1)
    raise ValueError(f"unknown period {period!r}; expected day, week or month")


@dataclass(frozen=True)
class PeriodRange:
    """The complete periods of a source table, by the first day of each period."""

    period: str
    first_start: dt.date
    last_start: dt.date

    @property
    def n_periods(self) -> int:
        if self.period == "month":
            first, last = self.first_start, self.last_start
            return (last.year - first.year) * 12 + last.month - first.month + 1
        days = (self.last_start - self.first_start).days
        return days // (7 if self.period == "week" else 1) + 1

    def start(self, index: int) -> dt.date:
        """Return the first day of period ``index`` (0 is the first complete period)."""
        return add_periods(self.first_start, self.period, index)

    def end(self, index: int) -> dt.date:
        """Return the last day of period ``index``."""
        return self.start(index + 1) - dt.timedelta(days=1)


def complete_period_range(first_date: dt.date, last_date: dt.date, period: str) -> PeriodRange:
    """Return the periods that lie fully inside ``[first_date, last_date]``."""
    first_start = period_floor(first_date, period)
    if first_start < first_date:
        first_start = add_periods(first_start, period, 1)
    last_start = period_floor(last_date, period)
    if add_periods(last_start, period, 1) - dt.timedelta(days=1) > last_date:
        last_start = add_periods(last_start, period, -1)
    if last_start < first_start:
        raise PanelError(
            f"source dates {first_date}..{last_date} contain no complete {period}"
            + (" (Monday-Sunday)" if period == "week" else "")
        )
    return PeriodRange(period, first_start, last_start)


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

    def as_periods(self) -> PeriodRange:
        return PeriodRange("week", self.first_week, self.last_week)


def week_start_of(date_column: Column) -> Column:
    """Return the Monday on or before each date (Spark ``dayofweek``: Sunday 1 ... Saturday 7)."""
    from pyspark.sql import functions as F

    return F.date_sub(date_column, (F.dayofweek(date_column) + 5) % 7)


def period_start_of(date_column: Column, period: str) -> Column:
    """Return the first day of the day, Monday-Sunday week or month of each date."""
    from pyspark.sql import functions as F

    if period == "day":
        return date_column
    if period == "week":
        return week_start_of(date_column)
    if period == "month":
        return F.trunc(date_column, "month")
    raise ValueError(f"unknown period {period!r}; expected day, week or month")


def complete_week_range(first_date: dt.date, last_date: dt.date) -> WeekRange:
    """Return the Monday-Sunday weeks that lie fully inside ``[first_date, last_date]``."""
    periods = complete_period_range(first_date, last_date, "week")
    return WeekRange(periods.first_start, periods.last_start)


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


def unit_column(target: TargetConfig) -> Column:
    """Return the column of the target's unit id: its H3 cell or its region code."""
    from pyspark.sql import functions as F

    from jobs.schemas import H3_RESOLUTIONS

    if target.unit == "region":
        return F.col(target.region_column).cast("string")
    if target.h3_resolution in H3_RESOLUTIONS:
        return F.col(f"h3_r{target.h3_resolution}")
    # Resolutions coarser than the finest one silver stores (7) are the parents of h3_r7.
    coarsest = min(H3_RESOLUTIONS)
    return parent_cells(F.col(f"h3_r{coarsest}"), target.h3_resolution)


def select_target_incidents(silver: DataFrame, target: TargetConfig) -> DataFrame:
    """Return ``h3_cell`` (the unit id) and ``local_date`` of the incidents the target counts.

    Incidents without a unit id (no cell, or an empty region) are left out.
    """
    from pyspark.sql import functions as F

    incidents = silver
    if target.offenses != "all":
        incidents = incidents.filter(F.col("offense").isin(list(target.offenses)))
    unit = unit_column(target)
    return incidents.select(unit.alias("h3_cell"), F.col("local_date")).filter(
        F.col("h3_cell").isNotNull() & (F.col("h3_cell") != "")
    )


def source_period_range(silver: DataFrame, target: TargetConfig) -> PeriodRange:
    """Check the source's time zone, offences and region column; return its complete periods.

    The periods come from the dates of all offences, so a rare offence gets the same periods.
    """
    from pyspark.sql import functions as F

    if target.unit == "region" and target.region_column not in silver.columns:
        raise PanelError(
            f"target {target.name} counts by region column {target.region_column!r} but "
            f"source table {target.source_table} has no such column; it has {silver.columns}"
        )
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
    periods = complete_period_range(row["first_date"], row["last_date"], target.period)
    logger.info(
        "Source %s covers %s..%s: %d complete periods (%s) from %s",
        target.source_table,
        row["first_date"],
        row["last_date"],
        periods.n_periods,
        target.period,
        periods.first_start,
    )
    return periods


def source_week_range(silver: DataFrame, target: TargetConfig) -> WeekRange:
    """Return the complete weeks of a weekly target's source (see source_period_range)."""
    periods = source_period_range(silver, target)
    if periods.period != "week":
        raise PanelError(f"target {target.name} has period {periods.period}, not week")
    return WeekRange(periods.first_start, periods.last_start)


def _as_periods(periods: PeriodRange | WeekRange) -> PeriodRange:
    return periods.as_periods() if isinstance(periods, WeekRange) else periods


def period_index_of(date_column: Column, periods: PeriodRange) -> Column:
    """Return the index of the period of each date, counted from ``periods.first_start``."""
    from pyspark.sql import functions as F

    start = period_start_of(date_column, periods.period)
    first = F.lit(periods.first_start)
    if periods.period == "month":
        months = F.months_between(start, first)
        return F.round(months).cast("int")
    days = F.datediff(start, first)
    if periods.period == "week":
        return F.floor(days / 7).cast("int")
    return days.cast("int")


def build_panel(
    incidents: DataFrame, periods: PeriodRange | WeekRange, horizon: int = 1
) -> DataFrame:
    """Return one row per study unit and period, zeros included, plus ``horizon`` forecast rows.

    The study area is every unit with at least one incident in ``incidents``, partial
    periods included. ``week_index`` counts periods from
    ``periods``' first complete period (0). The forecast periods follow the last complete
    one and have a null ``count``.

    NOTE: backtest folds use this study area too, so it includes units whose first incident
    falls after a fold's evaluation period. Such units have zero history and are rarely
    flagged, but they add to the unit count behind the flagged fraction.
    """
    from pyspark.sql import functions as F

    periods = _as_periods(periods)
    spark = incidents.sparkSession
    n_rows = periods.n_periods + horizon
    period_rows = [(index, periods.start(index)) for index in range(n_rows)]
    calendar = spark.createDataFrame(period_rows, "week_index int, week_start date")
    cells = incidents.select("h3_cell").distinct()

    counts = (
        incidents.withColumn("week_start", period_start_of(F.col("local_date"), periods.period))
        .filter(F.col("week_start").between(periods.first_start, periods.last_start))
        .groupBy("h3_cell", "week_start")
        .agg(F.count(F.lit(1)).cast("double").alias("observed"))
    )
    is_complete = F.col("week_index") < periods.n_periods
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
    silver: DataFrame, target: TargetConfig, periods: PeriodRange | WeekRange
) -> DataFrame:
    """Return ``lat``, ``lon`` and ``week_index`` (the period index) of the target's incidents
    in complete periods.

    Incidents without coordinates are left out.
    """
    from pyspark.sql import functions as F

    periods = _as_periods(periods)
    incidents = silver
    if target.offenses != "all":
        incidents = incidents.filter(F.col("offense").isin(list(target.offenses)))
    return (
        incidents.filter(F.col("lat").isNotNull() & F.col("lon").isNotNull())
        .select(
            F.col("lat").cast("double").alias("lat"),
            F.col("lon").cast("double").alias("lon"),
            period_index_of(F.col("local_date"), periods).alias("week_index"),
        )
        .filter(F.col("week_index").between(0, periods.n_periods - 1))
    )
