"""H3 parents computed in Spark SQL match the h3 package."""

from __future__ import annotations

import h3
import pytest

from models.panel import parent_cells

pytestmark = pytest.mark.spark

# Cells of resolution 7 and 9 in Almaty, Astana, Aktau and near the antimeridian, plus a
# pentagon, whose digit layout differs from that of hexagons.
CELLS = [
    h3.latlng_to_cell(43.2389, 76.8897, 7),
    h3.latlng_to_cell(51.1694, 71.4491, 9),
    h3.latlng_to_cell(43.6500, 51.1975, 7),
    h3.latlng_to_cell(-16.5, 179.9, 9),
    h3.cell_to_center_child(sorted(h3.get_pentagons(3))[0], 7),
]


@pytest.mark.parametrize("resolution", [0, 5, 6])
def test_parent_cells_match_h3(spark, resolution):
    from pyspark.sql import functions as F

    frame = spark.createDataFrame([(cell,) for cell in CELLS], "cell string")
    rows = frame.select("cell", parent_cells(F.col("cell"), resolution).alias("parent"))
    got = dict(rows.toPandas().values.tolist())
    for cell in CELLS:
        assert got[cell] == h3.cell_to_parent(cell, resolution), cell
