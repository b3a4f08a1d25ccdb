"""silver/h3_cells after appends, merges and rewrites of the silver incident tables.

Each case writes the test_marts fixture lake, changes a silver table and calls
write_h3_cells again. The expected cells come from h3.latlng_to_cell on the incident
points, and the last h3_cells commit shows whether the table was appended to or rewritten.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from test_marts import (
    EDINBURGH_E,
    HOUSTON_A,
    HOUSTON_B,
    PORTLAND_C,
    PORTLAND_D,
    _duckdb_profile,
    write_fixture_lake,
)
from test_marts_incremental import HOUSTON_C, _houston, _upsert

FIXTURE_POINTS = {
    HOUSTON_A: "houston",
    HOUSTON_B: "houston",
    PORTLAND_C: "portland",
    PORTLAND_D: "portland",
    EDINBURGH_E: "edinburgh",
}


def _expected_cells(points: dict[tuple[float, float], str]) -> dict[str, str]:
    """Return the city of each r7, r8 and r9 cell of ``points`` (point to city)."""
    import h3

    return {
        h3.latlng_to_cell(lat, lon, resolution): city
        for (lat, lon), city in points.items()
        for resolution in (7, 8, 9)
    }


def _h3_cells(lake: Path) -> dict[str, str]:
    from deltalake import DeltaTable

    table = DeltaTable(str(lake / "silver" / "h3_cells")).to_pyarrow_table()
    cells = table["h3_cell"].to_pylist()
    assert len(cells) == len(set(cells)), "h3_cells has a cell twice"
    return dict(zip(cells, table["city"].to_pylist(), strict=True))


def _last_write_mode(lake: Path) -> str:
    from deltalake import DeltaTable

    return DeltaTable(str(lake / "silver" / "h3_cells")).history(1)[0]["operationParameters"][
        "mode"
    ]


def _first_write(tmp_path: Path):
    from jobs.marts import write_h3_cells

    lake = tmp_path / "lake"
    write_fixture_lake(lake)
    profile = _duckdb_profile(tmp_path, lake)
    write_h3_cells(profile)
    return lake, profile


def test_h3_cells_first_write_rewrites(tmp_path):
    lake, _ = _first_write(tmp_path)

    assert _h3_cells(lake) == _expected_cells(FIXTURE_POINTS)
    assert _last_write_mode(lake) == "Overwrite"


def test_h3_cells_append_adds_new_cells(tmp_path):
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    from jobs.marts import write_h3_cells

    lake, profile = _first_write(tmp_path)
    houston = lake / "silver" / "houston_crime"
    schema = pa.schema(DeltaTable(str(houston)).schema().to_arrow())
    new_row = _houston("h7", dt.datetime(2010, 1, 27, 8), HOUSTON_C, loaded_days=2)
    write_deltalake(str(houston), pa.Table.from_pylist([new_row], schema=schema), mode="append")

    size = write_h3_cells(profile)

    expected = _expected_cells({**FIXTURE_POINTS, HOUSTON_C: "houston"})
    assert _h3_cells(lake) == expected
    assert size == len(expected)
    assert _last_write_mode(lake) == "Append"


def test_h3_cells_rerun_appends_nothing(tmp_path):
    from jobs.marts import write_h3_cells

    lake, profile = _first_write(tmp_path)

    write_h3_cells(profile)

    assert _h3_cells(lake) == _expected_cells(FIXTURE_POINTS)
    assert _last_write_mode(lake) == "Append"


def test_h3_cells_merge_drops_cells(tmp_path):
    from jobs.marts import write_h3_cells

    lake, profile = _first_write(tmp_path)
    # h5 and h6 are the incidents at HOUSTON_B, so its cells leave the table when they move.
    moved = [
        _houston("h5", dt.datetime(2010, 1, 19, 2), HOUSTON_C, loaded_days=2),
        _houston("h6", dt.datetime(2010, 1, 26, 8), HOUSTON_C, loaded_days=2),
    ]
    _upsert(lake / "silver" / "houston_crime", moved)

    write_h3_cells(profile)

    points = {point: city for point, city in FIXTURE_POINTS.items() if point != HOUSTON_B}
    assert _h3_cells(lake) == _expected_cells({**points, HOUSTON_C: "houston"})
    assert _last_write_mode(lake) == "Overwrite"


def test_h3_cells_delete_drops_cells(tmp_path):
    from deltalake import DeltaTable

    from jobs.marts import write_h3_cells

    lake, profile = _first_write(tmp_path)
    DeltaTable(str(lake / "silver" / "edinburgh_accidents")).delete()

    write_h3_cells(profile)

    without_edinburgh = {
        point: city for point, city in FIXTURE_POINTS.items() if point != EDINBURGH_E
    }
    assert _h3_cells(lake) == _expected_cells(without_edinburgh)
    assert _last_write_mode(lake) == "Overwrite"
