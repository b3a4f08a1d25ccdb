"""Assign incidents to the district outlines they fall in, for ``dim_area``'s counts.

DuckDB has no spatial functions offline and the PostgreSQL target need not have PostGIS,
so the point-in-polygon test runs here with shapely before dbt, as ``write_h3_cells`` does
for H3. The result is the silver table ``incident_districts``.
"""

from __future__ import annotations

import datetime as dt
import logging

from jobs.settings import Profile

log = logging.getLogger(__name__)

# Silver incident table -> (silver outline table, its district code column). Only the
# Portland calls have district outlines. The kz cases carry their region code.
DISTRICT_OUTLINES = {"portland_calls": ("portland_districts", "DISTRICT")}


def incident_districts_schema():
    """Return the Arrow schema of ``silver/incident_districts``, which only this module writes."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("source", pa.string(), nullable=False),
            pa.field("incident_id", pa.string(), nullable=False),
            pa.field("district", pa.string(), nullable=False),
            pa.field("_loaded_at", pa.timestamp("us", tz="UTC"), nullable=False),
        ]
    )


def assign_districts(lat, lon, outlines_wkt: list[str], codes: list[str]) -> list[str | None]:
    """Return the district code of each point, or None for a point outside every outline.

    A point on the border of two districts goes to the lower code, so the result does not
    depend on the order of the outlines.
    """
    import numpy as np
    import shapely

    order = np.argsort(np.array(codes, dtype=object))
    shapes = shapely.from_wkt(np.array(outlines_wkt, dtype=object)[order])
    sorted_codes = np.array(codes, dtype=object)[order]
    points = shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    tree = shapely.STRtree(shapes)
    point_index, shape_index = tree.query(points, predicate="intersects")
    result: list[str | None] = [None] * len(points)
    # Visiting the pairs from the highest code down leaves the lowest code in place.
    for point, shape in sorted(
        zip(point_index.tolist(), shape_index.tolist(), strict=True), key=lambda pair: -pair[1]
    ):
        result[point] = sorted_codes[shape]
    return result


def write_incident_districts(profile: Profile) -> int:
    """Write ``silver/incident_districts`` (source, incident_id, district); return its size.

    Incident tables or outline tables missing from the lake are skipped, so a lake without
    outlines gives an empty table. Incidents outside every outline get no row.
    """
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake
    from deltalake.exceptions import TableNotFoundError

    loaded_at = dt.datetime.now(dt.UTC)
    batches = []
    for incident_table, (outline_table, code_column) in DISTRICT_OUTLINES.items():
        try:
            incidents = DeltaTable(str(profile.table_path("silver", incident_table)))
            outlines = DeltaTable(str(profile.table_path("silver", outline_table)))
        except TableNotFoundError as error:
            log.info("no districts assigned to %s: %s", incident_table, error)
            continue
        shapes = outlines.to_pyarrow_table(columns=[code_column, "geometry_wkt"]).to_pylist()
        points = incidents.to_pyarrow_table(columns=["incident_id", "lat", "lon"])
        districts = assign_districts(
            points["lat"].to_numpy(zero_copy_only=False),
            points["lon"].to_numpy(zero_copy_only=False),
            [row["geometry_wkt"] for row in shapes],
            [row[code_column] for row in shapes],
        )
        inside = [i for i, district in enumerate(districts) if district is not None]
        batches.append(
            pa.table(
                {
                    "source": [incident_table] * len(inside),
                    "incident_id": points["incident_id"].take(pa.array(inside, pa.int64())),
                    "district": [districts[i] for i in inside],
                    "_loaded_at": [loaded_at] * len(inside),
                },
                schema=incident_districts_schema(),
            )
        )
        log.info(
            "assigned %d of %d %s incidents to %s",
            len(inside),
            points.num_rows,
            incident_table,
            outline_table,
        )
    table = pa.concat_tables(batches) if batches else incident_districts_schema().empty_table()
    path = profile.table_path("silver", "incident_districts")
    write_deltalake(str(path), table, mode="overwrite", schema_mode="overwrite")
    return table.num_rows
