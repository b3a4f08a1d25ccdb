"""Features of each panel row (cell, week), computed in Spark from earlier weeks only.

Every feature of week ``t`` reads counts of weeks ``< t``, so the row of a forecast week
(null count) gets the same features as a backtest week. Temporal features per cell:

* ``lag_1`` .. ``lag_4``: the counts of the 1 to 4 weeks before.
* ``mean_4``, ``mean_8``: means of the last 4 and 8 weeks (of fewer at the start).
* ``mean_all``: mean of all earlier weeks.
* ``ewm_0_8``, ``ewm_0_9``: exponentially weighted means with alpha 0.8 and 0.9, by the
  recursion ``e = alpha * count + (1 - alpha) * e`` over earlier weeks in order, started at
  the first week's count (pandas ``ewm(adjust=False)`` on the lagged series).

Spatial features sum a temporal feature over the cells at grid distance 1 (``ring1``) and
1 to 2 (``ring2``) of H3 ``grid_disk``, the cell itself excluded. Cells outside the study
area never had an incident, so they add zero. The sums are rounded to 9 decimals, so they
do not depend on the order in which Spark adds them. Calendar features are the ISO week of
year and the month of the week's Monday.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

LAGS = (1, 2, 3, 4)
ROLLING_WEEKS = (4, 8)
EWM_ALPHAS = (0.8, 0.9)
RING_SIZES = (1, 2)
RING_SUM_DECIMALS = 9
# Temporal features whose neighbour sums are features too.
NEIGHBOUR_BASES = ("lag_1", "mean_4", "mean_8", "mean_all")


def ewm_column_name(alpha: float) -> str:
    return "ewm_" + f"{alpha:g}".replace(".", "_")


TEMPORAL_FEATURES = [
    *(f"lag_{lag}" for lag in LAGS),
    *(f"mean_{weeks}" for weeks in ROLLING_WEEKS),
    "mean_all",
    *(ewm_column_name(alpha) for alpha in EWM_ALPHAS),
]
NEIGHBOUR_FEATURES = [f"ring{ring}_{base}" for ring in RING_SIZES for base in NEIGHBOUR_BASES]
CALENDAR_FEATURES = ["week_of_year", "month"]
FEATURE_COLUMNS = [*TEMPORAL_FEATURES, *NEIGHBOUR_FEATURES, *CALENDAR_FEATURES]


def add_temporal_features(panel: DataFrame) -> DataFrame:
    """Add lags, rolling means, the all-history mean and EWMs of each cell's earlier weeks."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    by_week = Window.partitionBy("h3_cell").orderBy("week_index")
    history = by_week.rowsBetween(Window.unboundedPreceding, -1)
    columns = [F.lag("count", lag).over(by_week).alias(f"lag_{lag}") for lag in LAGS]
    columns += [
        F.avg("count").over(by_week.rowsBetween(-weeks, -1)).alias(f"mean_{weeks}")
        for weeks in ROLLING_WEEKS
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
    return panel.select("*", *columns)


def _ewm_step(alpha: float):
    from pyspark.sql import functions as F

    # Spark counts the lambda's parameters, so alpha is bound here and not as a default.
    def step(acc, value):
        return F.lit(alpha) * value + F.lit(1 - alpha) * acc

    return step


def neighbour_pairs(cells: DataFrame, max_ring: int = max(RING_SIZES)) -> DataFrame:
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


def add_neighbour_features(features: DataFrame, pairs: DataFrame) -> DataFrame:
    """Add ring sums of NEIGHBOUR_BASES. A cell with no study neighbours gets zero sums."""
    from pyspark.sql import functions as F

    neighbour_values = features.select(
        F.col("h3_cell").alias("neighbour_cell"),
        "week_index",
        *NEIGHBOUR_BASES,
    )
    # Spark adds the neighbours in shuffle order, which changes the last bits of a sum of
    # means between runs and clusters. Rounding to RING_SUM_DECIMALS makes the features, and
    # so the boosters, the same everywhere.
    sums = [
        F.round(F.sum(F.when(F.col("distance") <= ring, F.col(base))), RING_SUM_DECIMALS).alias(
            f"_sum_ring{ring}_{base}"
        )
        for ring in RING_SIZES
        for base in NEIGHBOUR_BASES
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
        for ring in RING_SIZES
        for base in NEIGHBOUR_BASES
    ]
    return joined.select(*features.columns, *ring_columns)


def add_calendar_features(features: DataFrame) -> DataFrame:
    """Add the ISO week of year and the month of each week's Monday."""
    from pyspark.sql import functions as F

    return features.select(
        "*",
        F.weekofyear("week_start").alias("week_of_year"),
        F.month("week_start").alias("month"),
    )


def build_features(panel: DataFrame) -> DataFrame:
    """Return the panel with every FEATURE_COLUMNS column added."""
    temporal = add_temporal_features(panel)
    pairs = neighbour_pairs(panel.select("h3_cell").distinct())
    return add_calendar_features(add_neighbour_features(temporal, pairs))
