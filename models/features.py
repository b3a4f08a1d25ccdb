"""Features of each panel row (cell, week), computed in Spark from earlier weeks only.

Every count-based feature of week ``t`` reads counts of weeks ``< t``, so the row of a
forecast week (null count) gets the same features as a backtest week. Temporal features
per cell:

* ``lag_1`` .. ``lag_4``: the counts of the 1 to 4 weeks before.
* ``mean_4``, ``mean_8`` (``FeatureSettings.rolling_weeks``): means of the last 4 and 8
  weeks (of fewer at the start).
* ``mean_all``: mean of all earlier weeks.
* ``ewm_0_8``, ``ewm_0_9``: exponentially weighted means with alpha 0.8 and 0.9, by the
  recursion ``e = alpha * count + (1 - alpha) * e`` over earlier weeks in order, started at
  the first week's count (pandas ``ewm(adjust=False)`` on the lagged series).
* ``near_repeat``: ``lag_1 + lag_2 / 2``, the last two weeks weighted by ``1 / j`` for the
  week ``j`` weeks back (a missing ``lag_2`` counts as 0). Its ring sums carry the
  near-repeat effect to the neighbouring cells.
* ``trend_slope_8``: the least-squares slope, in incidents per week, of the cell's counts
  over the last 8 weeks (null with fewer than 2).
* ``trend_ratio``: ``(mean_4 + 1) / (mean_all + 1)``, recent against long-run level. The
  added 1 keeps the ratio finite and near 1 for cells with almost no incidents.

Spatial features sum a temporal feature over the cells at grid distance 1 (``ring1``) to
``FeatureSettings.max_ring`` of H3 ``grid_disk``, the cell itself excluded. Cells outside
the study area never had an incident, so they add zero. The sums are rounded to 9
decimals, so they do not depend on the order in which Spark adds them.

Calendar features are the ISO week of year and the month of the period's first day, and
``holidays_in_period``: the number of public holidays of the target's country (and
subdivision) in the period, from the ``holidays`` package's bundled calendars. Holidays
are known in advance, so reading the forecast period's own calendar is no leak.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

LAGS = (1, 2, 3, 4)
EWM_ALPHAS = (0.8, 0.9)
RING_SUM_DECIMALS = 9
TREND_WEEKS = 8
# Temporal features whose neighbour sums are features too.
NEIGHBOUR_BASES = ("lag_1", "mean_4", "mean_8", "mean_all")
NEAR_REPEAT = "near_repeat"
TREND_FEATURES = (f"trend_slope_{TREND_WEEKS}", "trend_ratio")
HOLIDAYS = "holidays_in_period"
PERIOD_STEPS = {"day": 1, "week": 7}


class FeatureSettings(BaseModel):
    """Feature selection of a target's model. The defaults build every feature.

    ``holidays`` needs the target's ``country``: a target without one gets no holiday
    feature.
    """

    model_config = ConfigDict(extra="forbid")

    rolling_weeks: list[int] = Field(default_factory=lambda: [4, 8], min_length=1)
    max_ring: int = Field(2, ge=1, le=4)
    near_repeat: bool = True
    trend: bool = True
    holidays: bool = True

    @field_validator("rolling_weeks")
    @classmethod
    def _check_rolling_weeks(cls, value):
        # mean_4 feeds trend_ratio and, like mean_8, the default neighbour sums.
        missing = [weeks for weeks in (4, 8) if weeks not in value]
        if missing:
            raise ValueError(f"must contain 4 and 8 (used by other features), missing {missing}")
        bad = [weeks for weeks in value if not 2 <= weeks <= 104]
        if bad:
            raise ValueError(f"window lengths must be 2 to 104 weeks, got {bad}")
        return sorted(set(value))


DEFAULT_SETTINGS = FeatureSettings()


def ewm_column_name(alpha: float) -> str:
    return "ewm_" + f"{alpha:g}".replace(".", "_")


def ring_sizes(settings: FeatureSettings) -> list[int]:
    return list(range(1, settings.max_ring + 1))


def neighbour_bases(settings: FeatureSettings) -> list[str]:
    return [*NEIGHBOUR_BASES, *([NEAR_REPEAT] if settings.near_repeat else [])]


def temporal_features(settings: FeatureSettings = DEFAULT_SETTINGS) -> list[str]:
    columns = [
        *(f"lag_{lag}" for lag in LAGS),
        *(f"mean_{weeks}" for weeks in settings.rolling_weeks),
        "mean_all",
        *(ewm_column_name(alpha) for alpha in EWM_ALPHAS),
    ]
    if settings.near_repeat:
        columns.append(NEAR_REPEAT)
    if settings.trend:
        columns += TREND_FEATURES
    return columns


def neighbour_features(settings: FeatureSettings = DEFAULT_SETTINGS) -> list[str]:
    return [
        f"ring{ring}_{base}" for ring in ring_sizes(settings) for base in neighbour_bases(settings)
    ]


def calendar_features(
    settings: FeatureSettings = DEFAULT_SETTINGS, country: str | None = None
) -> list[str]:
    return ["week_of_year", "month", *([HOLIDAYS] if settings.holidays and country else [])]


def feature_columns(
    settings: FeatureSettings = DEFAULT_SETTINGS, country: str | None = None
) -> list[str]:
    """Return the model's feature columns for ``settings`` and the target's ``country``."""
    return [
        *temporal_features(settings),
        *neighbour_features(settings),
        *calendar_features(settings, country),
    ]


TEMPORAL_FEATURES = temporal_features()
NEIGHBOUR_FEATURES = neighbour_features()
# The columns of the default settings for a target with a country.
FEATURE_COLUMNS = feature_columns(DEFAULT_SETTINGS, country="US")


def add_temporal_features(
    panel: DataFrame, settings: FeatureSettings = DEFAULT_SETTINGS
) -> DataFrame:
    """Add lags, rolling means, the all-history mean, EWMs, near-repeat and trend features
    of each cell's earlier weeks."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    by_week = Window.partitionBy("h3_cell").orderBy("week_index")
    history = by_week.rowsBetween(Window.unboundedPreceding, -1)
    columns = [F.lag("count", lag).over(by_week).alias(f"lag_{lag}") for lag in LAGS]
    columns += [
        F.avg("count").over(by_week.rowsBetween(-weeks, -1)).alias(f"mean_{weeks}")
        for weeks in settings.rolling_weeks
    ]
    columns.append(F.avg("count").over(history).alias("mean_all"))

    # The panel has one row per week, so the ordered window frame lists earlier counts in
    # week order. The EWM folds over that list, starting from its first element.
    past = F.collect_list("count").over(history)
    for alpha in EWM_ALPHAS:
        folded = F.aggregate(
            F.slice(past, 2, F.greatest(F.size(past) - 1, F.lit(1))),
            F.element_at(past, 1).cast("double"),
            _ewm_step(alpha),
        )
        columns.append(F.when(F.size(past) > 0, folded).alias(ewm_column_name(alpha)))

    if settings.near_repeat:
        lag_1 = F.lag("count", 1).over(by_week)
        lag_2 = F.coalesce(F.lag("count", 2).over(by_week), F.lit(0.0))
        columns.append((lag_1 + lag_2 / 2).alias(NEAR_REPEAT))
    if settings.trend:
        recent = by_week.rowsBetween(-TREND_WEEKS, -1)
        week = F.col("week_index").cast("double")
        spread = F.var_pop(week).over(recent)
        # With one earlier week the variance of the week numbers is 0, so there is no slope.
        slope = F.when(spread > 0, F.covar_pop(week, "count").over(recent) / spread)
        columns.append(slope.alias(TREND_FEATURES[0]))
        mean_4 = F.avg("count").over(by_week.rowsBetween(-4, -1))
        mean_all = F.avg("count").over(history)
        columns.append(((mean_4 + 1) / (mean_all + 1)).alias(TREND_FEATURES[1]))
    return panel.select("*", *columns)


def _ewm_step(alpha: float):
    from pyspark.sql import functions as F

    # Spark counts the lambda's parameters, so alpha is bound here and not as a default.
    def step(acc, value):
        return F.lit(alpha) * value + F.lit(1 - alpha) * acc

    return step


def neighbour_pairs(cells: DataFrame, max_ring: int = DEFAULT_SETTINGS.max_ring) -> DataFrame:
    """Return (h3_cell, neighbour_cell, distance) for study cells within ``max_ring`` of each
    other, the cell itself excluded."""
    from pyspark.sql import functions as F

    def expand(batches):
        import h3
        import pandas as pd

        for batch in batches:
            rows = [
                (cell, neighbour, h3.grid_distance(cell, neighbour))
                for cell in batch["h3_cell"]
                for neighbour in h3.grid_disk(cell, max_ring)
                if neighbour != cell
            ]
            yield pd.DataFrame(rows, columns=["h3_cell", "neighbour_cell", "distance"])

    study = cells.select(F.col("h3_cell").alias("neighbour_cell"))
    return cells.mapInPandas(expand, "h3_cell string, neighbour_cell string, distance int").join(
        study, on="neighbour_cell", how="inner"
    )


def add_neighbour_features(
    features: DataFrame, pairs: DataFrame, settings: FeatureSettings = DEFAULT_SETTINGS
) -> DataFrame:
    """Add ring sums of the neighbour bases. A cell with no study neighbours gets zero sums."""
    from pyspark.sql import functions as F

    bases = neighbour_bases(settings)
    rings = ring_sizes(settings)
    neighbour_values = features.select(
        F.col("h3_cell").alias("neighbour_cell"),
        "week_index",
        *bases,
    )
    # Spark adds the neighbours in shuffle order, which changes the last bits of a sum of
    # means between runs and clusters. Rounding to RING_SUM_DECIMALS makes the features, and
    # so the boosters, the same everywhere.
    sums = [
        F.round(F.sum(F.when(F.col("distance") <= ring, F.col(base))), RING_SUM_DECIMALS).alias(
            f"_sum_ring{ring}_{base}"
        )
        for ring in rings
        for base in bases
    ]
    ring_sums = (
        pairs.join(neighbour_values, on="neighbour_cell", how="inner")
        .groupBy("h3_cell", "week_index")
        .agg(*sums)
    )
    joined = features.join(ring_sums, on=["h3_cell", "week_index"], how="left")
    # Every cell has the same weeks, so a base feature is null (no earlier weeks) for the
    # cell exactly when it is null for all its neighbours.
    ring_columns = [
        F.when(F.col(base).isNull(), F.lit(None).cast("double"))
        .otherwise(F.coalesce(F.col(f"_sum_ring{ring}_{base}"), F.lit(0.0)))
        .alias(f"ring{ring}_{base}")
        for ring in rings
        for base in bases
    ]
    return joined.select(*features.columns, *ring_columns)


def period_end(start: dt.date, period: str) -> dt.date:
    """Return the first day after the day, week or calendar month that starts on ``start``."""
    if period == "month":
        return dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    if period not in PERIOD_STEPS:
        raise ValueError(f"period must be day, week or month, got {period!r}")
    return start + dt.timedelta(days=PERIOD_STEPS[period])


def holiday_counts(
    period_starts: list[dt.date],
    country: str,
    subdivision: str | None = None,
    period: str = "week",
) -> dict[dt.date, int]:
    """Return the number of public holidays of ``country`` in each period.

    Calendars come from the installed ``holidays`` package, so nothing is fetched. A day
    with two holiday names counts once. Raises ValueError for an unknown country or
    subdivision code.
    """
    import holidays

    years = sorted({year for start in period_starts for year in (start.year, start.year + 1)})
    try:
        calendar = holidays.country_holidays(country, subdiv=subdivision, years=years)
    except NotImplementedError as error:
        raise ValueError(
            f"the holidays package has no calendar for country {country!r} "
            f"and subdivision {subdivision!r}"
        ) from error
    counts = {}
    for start in period_starts:
        days = (period_end(start, period) - start).days
        counts[start] = sum(start + dt.timedelta(days=day) in calendar for day in range(days))
    return counts


def add_calendar_features(
    features: DataFrame,
    settings: FeatureSettings = DEFAULT_SETTINGS,
    country: str | None = None,
    subdivision: str | None = None,
    period: str = "week",
) -> DataFrame:
    """Add the ISO week of year, the month of each period's first day and, for a target with
    a country, the period's public holiday count."""
    from pyspark.sql import functions as F

    calendar = features.select(
        "*",
        F.weekofyear("week_start").alias("week_of_year"),
        F.month("week_start").alias("month"),
    )
    if not (settings.holidays and country):
        return calendar
    starts = [row["week_start"] for row in features.select("week_start").distinct().collect()]
    counts = holiday_counts(starts, country, subdivision, period)
    spark = features.sparkSession
    table = spark.createDataFrame(
        sorted(counts.items()), f"week_start date, {HOLIDAYS} int"
    ).select("week_start", F.col(HOLIDAYS).cast("double").alias(HOLIDAYS))
    return calendar.join(F.broadcast(table), on="week_start", how="left").select(
        *calendar.columns, HOLIDAYS
    )


def build_features(
    panel: DataFrame,
    settings: FeatureSettings = DEFAULT_SETTINGS,
    country: str | None = None,
    subdivision: str | None = None,
    period: str = "week",
    unit: str = "h3",
) -> DataFrame:
    """Return the panel with every ``feature_columns(settings, country)`` column added.

    ``period`` (day, week or month) sets the days that the holiday count covers. With
    ``unit`` region the ``h3_cell`` column contains region codes, which have no H3 neighbours,
    so every ring sum is zero where its base feature has a value.
    """
    temporal = add_temporal_features(panel, settings)
    if unit == "region":
        pairs = panel.sparkSession.createDataFrame(
            [], "h3_cell string, neighbour_cell string, distance int"
        )
    else:
        pairs = neighbour_pairs(panel.select("h3_cell").distinct(), settings.max_ring)
    with_rings = add_neighbour_features(temporal, pairs, settings)
    return add_calendar_features(with_rings, settings, country, subdivision, period)
