"""Build the weekly count panel of a forecast target and write its emerging hot spots.

The panel counts the target's silver incidents per H3 cell and Monday-Sunday week of the
local date, over the complete weeks of the table, as the forecast job does. The study area
is every cell with at least one incident of the target. Daily and monthly H3 targets get the
same weekly analysis, and region targets get none, because Gi* needs H3 neighbours.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import TYPE_CHECKING

import pyarrow as pa

from jobs.schemas import H3_RESOLUTIONS
from models.panel import PanelError, WeekRange, complete_week_range

if TYPE_CHECKING:
    import pandas as pd

    from jobs.settings import Profile
    from models.targets import TargetConfig

logger = logging.getLogger(__name__)

TABLE_NAME = "emerging_hotspots"

# Target names go into a Delta delete predicate, so they are limited to these characters.
_TARGET_NAME = re.compile(r"^[A-Za-z0-9_-]+$")

# One row per target and study cell of the latest run of the analysis.
GOLD_EMERGING_HOTSPOTS = pa.schema(
    [
        pa.field("target", pa.string(), nullable=False),
        pa.field("h3_cell", pa.string(), nullable=False),
        # new_hot_spot, ..., historical_cold_spot or no_pattern.
        pa.field("pattern", pa.string(), nullable=False),
        # Mann-Kendall test of the cell's weekly Gi* z-scores.
        pa.field("trend_z", pa.float64(), nullable=False),
        pa.field("trend_p", pa.float64(), nullable=False),
        # Gi* z-score and two-sided p-value of the last week.
        pa.field("last_gi_z", pa.float64(), nullable=False),
        pa.field("last_gi_p", pa.float64(), nullable=False),
        pa.field("hot_weeks", pa.int32(), nullable=False),
        pa.field("cold_weeks", pa.int32(), nullable=False),
        pa.field("weeks", pa.int32(), nullable=False),
        pa.field("last_week", pa.date32(), nullable=False),
        pa.field("k_ring", pa.int32(), nullable=False),
        pa.field("alpha", pa.float64(), nullable=False),
        pa.field("computed_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


def skip_reason(target: TargetConfig) -> str | None:
    """Return why the analysis skips ``target``, or None when the target has H3 cells."""
    if target.unit != "h3":
        return (
            f"target {target.name} counts {target.unit} units, but emerging hot spots are "
            "defined on H3 cells x weeks (Gi* over H3 rings)"
        )
    return None


def read_target_incidents(profile: Profile, target: TargetConfig) -> tuple[pd.DataFrame, WeekRange]:
    """Return the target's silver incidents (``h3_cell``, ``local_date``) and complete weeks.

    The weeks come from the dates of all offences in the table, as in the forecast job, so
    a rare offence gets the same weeks.
    """
    from deltalake import DeltaTable

    path = profile.table_path(target.source_layer, target.source_table)
    if not DeltaTable.is_deltatable(str(path)):
        raise PanelError(f"silver table not found at {path}; ingest {target.source_table} first")
    reason = skip_reason(target)
    if reason is not None:
        raise PanelError(reason)
    # Silver stores resolutions 7 to 9, and coarser cells are the parents of the h3_r7 cells.
    read_resolution = max(target.h3_resolution, min(H3_RESOLUTIONS))
    cell_column = f"h3_r{read_resolution}"
    # NOTE: filtering on offense inside to_pandas fails in deltalake 1.6 (string against
    # string_view), so the rows are filtered after reading.
    incidents = DeltaTable(str(path)).to_pandas(columns=[cell_column, "local_date", "offense"])
    if read_resolution != target.h3_resolution:
        import h3

        parents = {
            cell: h3.cell_to_parent(cell, target.h3_resolution)
            for cell in incidents[cell_column].dropna().unique()
        }
        incidents[cell_column] = incidents[cell_column].map(parents)
    if incidents.empty:
        raise PanelError(f"source table {target.source_table} of target {target.name} is empty")
    weeks = complete_week_range(incidents["local_date"].min(), incidents["local_date"].max())
    if target.offenses != "all":
        missing = sorted(set(target.offenses) - set(incidents["offense"]))
        if missing:
            raise PanelError(
                f"target {target.name} counts offences {missing} that source table "
                f"{target.source_table} does not contain"
            )
        incidents = incidents[incidents["offense"].isin(list(target.offenses))]
    incidents = incidents[[cell_column, "local_date"]].rename(columns={cell_column: "h3_cell"})
    return incidents, weeks


def weekly_panel(incidents: pd.DataFrame, weeks: WeekRange) -> pd.DataFrame:
    """Count incidents per cell and week of ``weeks``, zeros included, for every study cell.

    Study cells are the cells of ``incidents`` inside the weeks; incidents outside them are
    dropped.
    """
    import pandas as pd

    dates = pd.to_datetime(incidents["local_date"])
    week_start = (dates - pd.to_timedelta(dates.dt.weekday, unit="D")).dt.date
    keep = (week_start >= weeks.first_week) & (week_start <= weeks.last_week)
    cells = incidents["h3_cell"][keep]
    if cells.empty:
        raise PanelError(
            f"the target has no incidents in the complete weeks {weeks.first_week} to "
            f"{weeks.last_week}, so there is no panel to analyse"
        )
    counts = (
        pd.DataFrame({"h3_cell": cells, "week_start": week_start[keep]})
        .groupby(["h3_cell", "week_start"])
        .size()
        .rename("count")
        .reset_index()
    )
    all_weeks = [weeks.week_start(index) for index in range(weeks.n_weeks)]
    grid = pd.MultiIndex.from_product(
        [sorted(cells.unique()), all_weeks], names=["h3_cell", "week_start"]
    )
    return counts.set_index(["h3_cell", "week_start"]).reindex(grid, fill_value=0).reset_index()


def analyse_target(
    profile: Profile, target: TargetConfig, k: int, alpha: float, computed_at: dt.datetime
) -> pd.DataFrame:
    """Return the emerging hot spot rows of one target in the gold table's schema."""
    from jobs.hotspots.analysis import emerging_hotspots

    incidents, weeks = read_target_incidents(profile, target)
    panel = weekly_panel(incidents, weeks)
    result = emerging_hotspots(panel, k=k, alpha=alpha)
    result.insert(0, "target", target.name)
    result["k_ring"] = k
    result["alpha"] = alpha
    result["computed_at"] = computed_at
    counts = result["pattern"].value_counts().to_dict()
    logger.info("emerging hot spots of target %s: %s", target.name, counts)
    return result[GOLD_EMERGING_HOTSPOTS.names]


def write_hotspots(profile: Profile, rows: pd.DataFrame, target: str) -> None:
    """Replace the rows of ``target`` in the gold emerging_hotspots Delta table."""
    from deltalake import DeltaTable, write_deltalake

    if not _TARGET_NAME.match(target):
        raise ValueError(f"invalid target name {target!r}: use letters, digits, _ and -")
    table = pa.Table.from_pandas(rows, schema=GOLD_EMERGING_HOTSPOTS, preserve_index=False)
    path = str(profile.table_path("gold", TABLE_NAME))
    if DeltaTable.is_deltatable(path):
        write_deltalake(path, table, mode="overwrite", predicate=f"target = '{target}'")
    else:
        write_deltalake(path, table, mode="overwrite")
    logger.info("wrote %s rows of target %s to %s", table.num_rows, target, path)


def read_hotspots(profile: Profile, target: str) -> pd.DataFrame:
    """Return the gold emerging hot spot rows of ``target``, empty when there are none."""
    import pandas as pd
    from deltalake import DeltaTable

    path = str(profile.table_path("gold", TABLE_NAME))
    if not DeltaTable.is_deltatable(path):
        return pd.DataFrame(columns=GOLD_EMERGING_HOTSPOTS.names)
    return DeltaTable(path).to_pandas(filters=[("target", "=", target)])
