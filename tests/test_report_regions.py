"""Kazakhstan region outlines on the report map, from the generated 2022 outline file."""

from __future__ import annotations

import h3
import pyarrow as pa
from deltalake import write_deltalake
from test_letters_regions import CITIES, kz_profile
from test_report import (
    GENERATED,
    NEW_BACKTESTS,
    NEW_RUN,
    NEXT_PERIOD,
    TARGET,
    backtest_rows,
    forecast_row,
    parse_report,
)

from jobs.report import write_report
from jobs.reporting.settings import load_report_settings
from jobs.schemas import GOLD_BACKTESTS, GOLD_FORECASTS

# The fixture of test_letters_regions that writes the outlines into the landing folder.
__all__ = ["kz_profile"]

# Region names of the generated outlines of the three cities.
CITY_NAMES = {"AST": "Astana", "ALA": "Almaty", "SHY": "Shymkent"}


def write_gold(profile, cells: list[str], unit: str = "h3") -> None:
    """Write one run over ``cells``: H3 cells, or region codes when ``unit`` is region."""
    forecasts = [
        forecast_row(
            NEW_RUN, "lightgbm", NEXT_PERIOD, cell, 5.0 - rank, 4.0 - rank, 6.0 - rank, rank, [],
            GENERATED,
        )
        for rank, cell in enumerate(cells, start=1)
    ]  # fmt: skip
    if unit == "region":
        forecasts = [row | {"unit": unit, "period": "day", "h3_cell": None} for row in forecasts]
    names = set(GOLD_FORECASTS.names)
    forecasts = [{key: value for key, value in row.items() if key in names} for row in forecasts]
    write_deltalake(
        profile.table_path("gold", "forecasts"),
        pa.Table.from_pylist(forecasts, schema=GOLD_FORECASTS),
    )
    write_deltalake(
        profile.table_path("gold", "backtests"),
        pa.Table.from_pylist(backtest_rows(NEW_RUN, NEW_BACKTESTS), schema=GOLD_BACKTESTS),
    )


def test_kz_report_draws_region_outlines(kz_profile, tmp_path):
    profile, centres = kz_profile
    write_gold(profile, [h3.latlng_to_cell(*centres[code], 6) for code in CITIES])
    # The project's report settings, whose layers include the generated kz outlines.
    settings = load_report_settings().model_copy(update={"pdf": False})

    path = write_report(TARGET, tmp_path / "out", profile, settings, GENERATED)
    html = path.read_text(encoding="utf-8")
    report = parse_report(path)

    assert len(report.polygons) == len(CITIES)
    assert html.count('<path class="district"') > len(CITIES)
    for name in CITY_NAMES.values():
        assert f"<title>Region: {name}</title>" in html, name
    assert '<span class="line-swatch"></span>Region</li>' in html
    assert "Police district" not in html


def test_region_layer_skipped_without_landing_file(kz_profile, tmp_path):
    profile, centres = kz_profile
    write_gold(profile, [h3.latlng_to_cell(*centres[code], 6) for code in CITIES])
    settings = load_report_settings().model_copy(update={"pdf": False})
    elsewhere = profile.model_copy(update={"landing_dir": str(tmp_path / "empty")})

    html = write_report(TARGET, tmp_path / "out", elsewhere, settings, GENERATED).read_text(
        encoding="utf-8"
    )

    assert '<path class="district"' not in html
    assert "line-swatch" not in html.split("<figcaption", 1)[1].split("</figcaption>", 1)[0]


def test_region_target_report_lists_regions(kz_profile, tmp_path, caplog):
    import logging

    profile, _ = kz_profile
    codes = list(CITIES)
    write_gold(profile, codes, unit="region")
    settings = load_report_settings().model_copy(update={"pdf": False})

    with caplog.at_level(logging.INFO, logger="jobs.reporting.context"):
        path = write_report(TARGET, tmp_path / "out", profile, settings, GENERATED)
    html = path.read_text(encoding="utf-8")
    report = parse_report(path)

    assert report.polygons == []
    assert "draws no cell map" in html
    assert "it forecasts region units" in caplog.text
    top_table = next(rows for rows in report.tables.values() if rows and rows[0][1] == "Region")
    assert [row[1] for row in top_table[1:]] == codes
