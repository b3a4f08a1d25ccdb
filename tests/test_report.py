"""Forecast report: literal gold Delta tables in, one self-contained HTML file out."""

from __future__ import annotations

import json
import math
import re
import warnings
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import h3
import pandas as pd
import pyarrow as pa
import pytest
import shapely
from deltalake import write_deltalake
from weasyprint.urls import FatalURLFetchingError

from jobs.report import write_report
from jobs.reporting.charts import Series, line_chart
from jobs.reporting.context import load_messages, method_label, metric_label, order_methods
from jobs.reporting.data import ReportDataError, predicted_totals
from jobs.reporting.districts import read_districts
from jobs.reporting.formatting import Formatter
from jobs.reporting.hexmap import Projection, colour_classes, colour_for
from jobs.reporting.render import ExternalReferenceError, write_pdf
from jobs.reporting.settings import (
    DistrictLayer,
    ReportSettings,
    TargetReportSettings,
    load_report_settings,
)
from jobs.schemas import GOLD_BACKTESTS, GOLD_FORECASTS
from jobs.settings import load_profile

TARGET = "street_crime"
NEW_RUN = "run-new-2"
OLD_RUN = "run-old-1"
NEXT_PERIOD = date(2026, 12, 7)
LATER_PERIOD = date(2026, 12, 14)
CREATED_NEW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
CREATED_OLD = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
GENERATED = datetime(2026, 12, 4, 16, 30, tzinfo=UTC)

# Study area: a resolution-8 cell in Portland and its two rings of neighbours (19 cells).
CENTRE = h3.latlng_to_cell(45.52, -122.68, 8)
STUDY_CELLS = sorted(h3.grid_disk(CENTRE, 2))
TOP_CELLS = STUDY_CELLS[:3]

CONTRIBUTIONS_RANK_1 = [
    {"feature": "lag_1w", "contribution": 1.25},
    {"feature": "rolling_mean_4w", "contribution": -0.5},
    {"feature": "week_of_year", "contribution": 0.3},
    {"feature": "is_holiday_week", "contribution": 0.01},
]

SETTINGS = ReportSettings(
    language="en",
    pdf=False,
    top_cells=3,
    interval_level=0.8,
    contributions_shown=3,
    metrics=["pai_1pct", "pai_5pct", "pei_star_1pct", "pei_star_5pct"],
    trend_metrics=["pai_5pct"],
    district_layers=[],
)


def forecast_row(run_id, model, period, cell, predicted, lower, upper, rank, contributions, at):
    return {
        "target": TARGET,
        "run_id": run_id,
        "model": model,
        "period": "week",
        "period_start": period,
        "unit": "h3",
        "area_id": cell,
        "h3_cell": cell,
        "predicted": predicted,
        "lower": lower,
        "upper": upper,
        "risk_rank": rank,
        "top_contributions": json.dumps(contributions),
        "created_at": at,
    }


def forecast_rows(run_id="run", model="lightgbm", created_at=CREATED_NEW) -> list[dict]:
    """Rows of one run: next period with the top three cells given by hand, then a later one."""
    small = [{"feature": "lag_1w", "contribution": 0.02}]
    rows = [
        forecast_row(
            run_id,
            model,
            NEXT_PERIOD,
            TOP_CELLS[0],
            9.4,
            6.1,
            12.8,
            1,
            CONTRIBUTIONS_RANK_1,
            created_at,
        ),
        forecast_row(run_id, model, NEXT_PERIOD, TOP_CELLS[1], 7.0, 4.5, 9.9, 2, small, created_at),
        forecast_row(run_id, model, NEXT_PERIOD, TOP_CELLS[2], 3.2, 1.0, 5.4, 3, small, created_at),
    ]
    for rank, cell in enumerate(STUDY_CELLS[3:], start=4):
        rows.append(
            forecast_row(run_id, model, NEXT_PERIOD, cell, 0.5, 0.0, 1.5, rank, [], created_at)
        )
    for rank, cell in enumerate(STUDY_CELLS, start=1):
        rows.append(
            forecast_row(run_id, model, LATER_PERIOD, cell, 50.0, 40.0, 60.0, rank, [], created_at)
        )
    return rows


def backtest_rows(run_id: str, values: dict[tuple[int, str, str], float]) -> list[dict]:
    fold_starts = {1: date(2026, 11, 2), 2: date(2026, 11, 9)}
    return [
        {
            "target": TARGET,
            "run_id": run_id,
            "fold": fold,
            "period_start": fold_starts[fold],
            "method": method,
            "metric": metric,
            "value": value,
        }
        for (fold, method, metric), value in values.items()
    ]


# Hand-given backtest values of the new run. Means over the two folds (pct suffix left out):
# model pai_1 (4.0 + 6.5) / 2 = 5.25, pai_5 (2.0 + 3.0) / 2 = 2.50,
# pei_star_1 (0.40 + 0.60) / 2 = 0.50, pei_star_5 (0.70 + 0.80) / 2 = 0.75;
# baseline_last_week pai_1 (1.0 + 2.0) / 2 = 1.50, pai_5 (1.2 + 1.4) / 2 = 1.30,
# pei_star_1 (0.10 + 0.20) / 2 = 0.15, pei_star_5 (0.30 + 0.50) / 2 = 0.40.
NEW_BACKTESTS = {
    (1, "model", "pai_1pct"): 4.0,
    (1, "model", "pai_5pct"): 2.0,
    (1, "model", "pei_star_1pct"): 0.40,
    (1, "model", "pei_star_5pct"): 0.70,
    (2, "model", "pai_1pct"): 6.5,
    (2, "model", "pai_5pct"): 3.0,
    (2, "model", "pei_star_1pct"): 0.60,
    (2, "model", "pei_star_5pct"): 0.80,
    (1, "baseline_last_week", "pai_1pct"): 1.0,
    (1, "baseline_last_week", "pai_5pct"): 1.2,
    (1, "baseline_last_week", "pei_star_1pct"): 0.10,
    (1, "baseline_last_week", "pei_star_5pct"): 0.30,
    (2, "baseline_last_week", "pai_1pct"): 2.0,
    (2, "baseline_last_week", "pai_5pct"): 1.4,
    (2, "baseline_last_week", "pei_star_1pct"): 0.20,
    (2, "baseline_last_week", "pei_star_5pct"): 0.50,
}
OLD_BACKTESTS = {(1, "model", "pai_1pct"): 99.0, (1, "baseline_last_week", "pai_1pct"): 77.0}


def write_gold(profile, forecasts: list[dict], backtests: list[dict]) -> None:
    write_deltalake(
        profile.table_path("gold", "forecasts"),
        pa.Table.from_pylist(forecasts, schema=GOLD_FORECASTS),
    )
    write_deltalake(
        profile.table_path("gold", "backtests"),
        pa.Table.from_pylist(backtests, schema=GOLD_BACKTESTS),
    )


@pytest.fixture
def profile(tmp_path):
    return load_profile("embedded").model_copy(update={"lake_dir": str(tmp_path / "lake")})


@pytest.fixture
def gold(profile):
    """Gold tables with an older and a newer run of the same target."""
    write_gold(
        profile,
        forecast_rows(OLD_RUN, created_at=CREATED_OLD) + forecast_rows(NEW_RUN),
        backtest_rows(OLD_RUN, OLD_BACKTESTS) + backtest_rows(NEW_RUN, NEW_BACKTESTS),
    )
    return profile


class ReportParser(HTMLParser):
    """Collects the SVG polygons with their tooltips and the rows of each table by id."""

    def __init__(self) -> None:
        super().__init__()
        self.polygons: list[dict] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._in_polygon = False
        self._in_polygon_title = False
        self._table_id: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "polygon":
            self.polygons.append({**attributes, "title": ""})
            self._in_polygon = True
        elif tag == "title" and self._in_polygon:
            self._in_polygon_title = True
        elif tag == "table":
            self._table_id = attributes.get("id", f"table-{len(self.tables)}")
            self.tables[self._table_id] = []
        elif tag == "tr" and self._table_id:
            self.tables[self._table_id].append([])
        elif tag in ("td", "th") and self._table_id:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "polygon":
            self._in_polygon = False
        elif tag == "title":
            self._in_polygon_title = False
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[self._table_id][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table_id = None

    def handle_data(self, data):
        if self._in_polygon_title:
            self.polygons[-1]["title"] += data
        if self._cell is not None:
            self._cell.append(data)


def parse_report(path: Path) -> ReportParser:
    parser = ReportParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_report_file_written_for_next_period(gold, tmp_path):
    path = write_report(TARGET, tmp_path / "out", gold, SETTINGS, GENERATED)
    assert path == tmp_path / "out" / "street_crime_2026-12-07.html"
    assert path.is_file()
    assert not list((tmp_path / "out").glob("*.partial"))


def test_report_has_no_network_reference(gold, tmp_path):
    html = write_report(TARGET, tmp_path, gold, SETTINGS, GENERATED).read_text(encoding="utf-8")
    assert "http://" not in html
    assert "https://" not in html
    assert "xmlns" not in html
    assert "<link" not in html
    assert "<script src" not in html


def test_report_header_names_latest_run(gold, tmp_path):
    html = write_report(TARGET, tmp_path, gold, SETTINGS, GENERATED).read_text(encoding="utf-8")
    assert NEW_RUN in html
    assert OLD_RUN not in html
    assert "street_crime" in html
    assert "December 7, 2026" in html
    assert "December 4, 2026, 16:30 UTC" in html


def test_report_map_one_polygon_per_top_cell(gold, tmp_path):
    report = parse_report(write_report(TARGET, tmp_path, gold, SETTINGS, GENERATED))
    assert [polygon["data-cell"] for polygon in report.polygons] == TOP_CELLS
    fills = [polygon["fill"] for polygon in report.polygons]
    # Equal intervals over 3.2..9.4: rank 1 is in the top class, rank 3 in the bottom one.
    assert fills[0] == "#bd0026"
    assert fills[2] == "#ffffb2"


def test_report_map_draws_study_cells(gold, tmp_path):
    html = write_report(TARGET, tmp_path, gold, SETTINGS, GENERATED).read_text(encoding="utf-8")
    start = html.index('<path class="study" d="') + len('<path class="study" d="')
    study_path = html[start : html.index('"', start)]
    assert study_path.count("M") == len(STUDY_CELLS)
    assert study_path.count("Z") == len(STUDY_CELLS)


def test_report_hexagon_tooltip(gold, tmp_path):
    report = parse_report(write_report(TARGET, tmp_path, gold, SETTINGS, GENERATED))
    lines = report.polygons[0]["title"].splitlines()
    assert lines[0] == TOP_CELLS[0]
    assert "Predicted: 9.4" in lines
    assert "80% interval: 6.1 – 12.8" in lines
    assert "  lag_1w +1.25" in lines
    assert "  rolling_mean_4w −0.50" in lines
    assert "  week_of_year +0.30" in lines
    assert not any("is_holiday_week" in line for line in lines)


def test_report_top_cells_table(gold, tmp_path):
    report = parse_report(write_report(TARGET, tmp_path, gold, SETTINGS, GENERATED))
    rows = report.tables["table-0"]
    assert rows[0] == ["Rank", "H3 cell", "Predicted", "80% interval", "Top contributions"]
    assert rows[1][:4] == ["1", TOP_CELLS[0], "9.4", "6.1 – 12.8"]
    assert rows[3][:4] == ["3", TOP_CELLS[2], "3.2", "1.0 – 5.4"]
    assert len(rows) == 4


def test_report_backtest_means(gold, tmp_path):
    report = parse_report(write_report(TARGET, tmp_path, gold, SETTINGS, GENERATED))
    assert report.tables["backtest-summary"] == [
        ["Method", "Folds", "PAI 1%", "PAI 5%", "PEI* 1%", "PEI* 5%"],
        ["Model (lightgbm)", "2", "5.25", "2.50", "0.50", "0.75"],
        ["Baseline: last week", "2", "1.50", "1.30", "0.15", "0.40"],
    ]


def test_report_backtest_per_fold(gold, tmp_path):
    report = parse_report(write_report(TARGET, tmp_path, gold, SETTINGS, GENERATED))
    assert report.tables["backtest-folds"] == [
        ["Fold", "Period starts", "Method", "PAI 1%", "PAI 5%", "PEI* 1%", "PEI* 5%"],
        ["1", "November 2, 2026", "Model (lightgbm)", "4.00", "2.00", "0.40", "0.70"],
        ["1", "November 2, 2026", "Baseline: last week", "1.00", "1.20", "0.10", "0.30"],
        ["2", "November 9, 2026", "Model (lightgbm)", "6.50", "3.00", "0.60", "0.80"],
        ["2", "November 9, 2026", "Baseline: last week", "2.00", "1.40", "0.20", "0.50"],
    ]


def test_report_without_backtests(profile, tmp_path):
    write_gold(profile, forecast_rows(NEW_RUN), backtest_rows(OLD_RUN, OLD_BACKTESTS))
    html = write_report(TARGET, tmp_path, profile, SETTINGS, GENERATED).read_text(encoding="utf-8")
    assert "The run has no backtest rows." in html
    assert 'id="backtest-summary"' not in html


def test_report_missing_gold_table(profile, tmp_path):
    with pytest.raises(ReportDataError, match="Delta table not found"):
        write_report(TARGET, tmp_path, profile, SETTINGS, GENERATED)


def test_report_unknown_target(gold, tmp_path):
    with pytest.raises(ReportDataError, match="no forecast rows for target 'road_traffic'"):
        write_report("road_traffic", tmp_path, gold, SETTINGS, GENERATED)


def test_report_several_models_need_setting(profile, tmp_path):
    rows = forecast_rows(NEW_RUN, model="lightgbm") + forecast_rows(NEW_RUN, model="prophet")
    write_gold(profile, rows, backtest_rows(NEW_RUN, NEW_BACKTESTS))
    with pytest.raises(ReportDataError, match="several models"):
        write_report(TARGET, tmp_path, profile, SETTINGS, GENERATED)

    chosen = SETTINGS.model_copy(
        update={"targets": {TARGET: TargetReportSettings(model="prophet")}}
    )
    html = write_report(TARGET, tmp_path, profile, chosen, GENERATED).read_text(encoding="utf-8")
    assert "prophet" in html


def test_report_rejects_network_reference(profile, tmp_path):
    rows = forecast_rows(NEW_RUN)
    rows[0]["top_contributions"] = json.dumps(
        [{"feature": "https://example.invalid/feature", "contribution": 1.0}]
    )
    write_gold(profile, rows, backtest_rows(NEW_RUN, NEW_BACKTESTS))
    with pytest.raises(ExternalReferenceError, match="network resource"):
        write_report(TARGET, tmp_path, profile, SETTINGS, GENERATED)
    assert not list(tmp_path.glob("*.html"))


def test_report_invalid_contributions(profile, tmp_path):
    rows = forecast_rows(NEW_RUN)
    rows[0]["top_contributions"] = "not json"
    write_gold(profile, rows, backtest_rows(NEW_RUN, NEW_BACKTESTS))
    with pytest.raises(ReportDataError, match="invalid top_contributions"):
        write_report(TARGET, tmp_path, profile, SETTINGS, GENERATED)


def test_projection_fits_box():
    # Middle latitude 60 degrees, so one degree of longitude is half a degree of latitude:
    # both spans are 2 units and the 200-unit inner box gives a scale of 100.
    projection = Projection([(59.0, 10.0), (61.0, 14.0)], 220, 220, margin=10)
    assert math.isclose(projection.width, 220)
    assert math.isclose(projection.height, 220)
    assert all(map(math.isclose, projection.project(61.0, 10.0), (10.0, 10.0)))
    assert all(map(math.isclose, projection.project(59.0, 14.0), (210.0, 210.0)))
    assert all(map(math.isclose, projection.project(60.0, 12.0), (110.0, 110.0)))


def test_colour_classes_equal_intervals():
    classes = colour_classes([0.0, 10.0, 4.0])
    assert [(c.lower, c.upper) for c in classes] == [
        (0.0, 2.0),
        (2.0, 4.0),
        (4.0, 6.0),
        (6.0, 8.0),
        (8.0, 10.0),
    ]
    assert colour_for(0.0, classes) == "#ffffb2"
    assert colour_for(2.0, classes) == "#ffffb2"
    assert colour_for(2.1, classes) == "#fecc5c"
    assert colour_for(10.0, classes) == "#bd0026"


def test_colour_classes_single_value():
    classes = colour_classes([3.0, 3.0])
    assert len(classes) == 1
    assert colour_for(3.0, classes) == "#bd0026"


def test_metric_order_configured_only():
    names = ["hit_rate_1pct", "pei_star_1pct", "coverage_80", "pai_1pct"]
    assert SETTINGS.order_metrics(names) == ["pai_1pct", "pei_star_1pct"]


def test_metric_order_all_when_none_configured():
    names = ["mae", "ape", "mae"]
    assert SETTINGS.order_metrics(names) == ["ape", "mae"]


def test_reports_conf_loads():
    settings = load_report_settings()
    assert settings.language in ("en", "ru", "kk")
    assert settings.top_cells >= 1
    assert "pai_1pct" in settings.metrics


def test_metric_label_from_name():
    text = load_messages("en")
    fmt = Formatter("en")
    assert metric_label("pai_5pct", text, fmt) == "PAI 5%"
    assert metric_label("pei_star_2p5pct", text, fmt) == "PEI* 2.5%"
    assert metric_label("hit_rate_1pct", text, fmt) == "Hit rate 1%"
    assert metric_label("interval_coverage_80", text, fmt) == "80% interval coverage"
    assert metric_label("mae", text, fmt) == "MAE"
    assert metric_label("actual_total", text, fmt) == "Actual incidents"
    assert metric_label("coverage_80", text, fmt) == "coverage_80"


def test_methods_model_first():
    methods = ["baseline_long_run_mean", "model", "baseline_last_week"]
    assert order_methods(methods, "lightgbm") == [
        "model",
        "baseline_last_week",
        "baseline_long_run_mean",
    ]
    # A run that names the model's rows by the model itself sorts the same way.
    assert order_methods(["baseline_last_week", "lightgbm"], "lightgbm") == [
        "lightgbm",
        "baseline_last_week",
    ]
    text = load_messages("en")
    assert method_label("model", "lightgbm", text) == "Model (lightgbm)"
    assert method_label("baseline_ewm_0_8", "lightgbm", text) == (
        "Baseline: exponential mean, alpha 0.8"
    )
    assert method_label("seasonal_naive", "lightgbm", text) == "seasonal_naive"


def test_report_model_rows_bold(gold, tmp_path):
    html = write_report(TARGET, tmp_path, gold, SETTINGS, GENERATED).read_text(encoding="utf-8")
    bold_rows = re.findall(r'<tr class="model">\s*<td[^>]*>([^<]*)</td>\s*<td[^>]*>([^<]*)', html)
    assert bold_rows == [
        ("Model (lightgbm)", "2"),
        ("1", "November 2, 2026"),
        ("2", "November 9, 2026"),
    ]


def test_message_catalogues_same_keys():
    english = set(load_messages("en"))
    assert set(load_messages("ru")) == english
    assert set(load_messages("kk")) == english


def test_report_russian_locale(gold, tmp_path):
    russian = SETTINGS.model_copy(update={"language": "ru"})
    path = write_report(TARGET, tmp_path, gold, russian, GENERATED)
    report = parse_report(path)
    html = path.read_text(encoding="utf-8")
    assert '<html lang="ru">' in html
    assert "Прогноз криминальных угроз: street_crime" in html
    # CLDR puts a narrow no-break space before "г." and a no-break space before "%" in ru.
    assert "7 декабря 2026\u202fг." in html
    assert report.tables["backtest-summary"] == [
        ["Метод", "Фолдов", "PAI 1\xa0%", "PAI 5\xa0%", "PEI* 1\xa0%", "PEI* 5\xa0%"],
        ["Модель (lightgbm)", "2", "5,25", "2,50", "0,50", "0,75"],
        ["Базовый: прошлая неделя", "2", "1,50", "1,30", "0,15", "0,40"],
    ]
    assert "Интервал 80\xa0%: 6,1 – 12,8" in report.polygons[0]["title"].splitlines()


def test_report_kazakh_locale(gold, tmp_path):
    kazakh = SETTINGS.model_copy(update={"language": "kk"})
    path = write_report(TARGET, tmp_path, gold, kazakh, GENERATED)
    report = parse_report(path)
    html = path.read_text(encoding="utf-8")
    assert "Қылмыстық қатер болжамы: street_crime" in html
    lines = report.polygons[0]["title"].splitlines()
    assert "Болжам: 9,4" in lines
    assert "80% аралығы: 6,1 – 12,8" in lines
    assert report.tables["backtest-summary"][1] == [
        "Модель (lightgbm)",
        "2",
        "5,25",
        "2,50",
        "0,50",
        "0,75",
    ]


def test_report_pdf_written(gold, tmp_path):
    with_pdf = SETTINGS.model_copy(update={"pdf": True})
    path = write_report(TARGET, tmp_path, gold, with_pdf, GENERATED)
    pdf = path.with_suffix(".pdf")
    assert pdf.is_file()
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert not list(tmp_path.glob("*.partial"))


def test_pdf_rejects_resource_fetch(tmp_path):
    html = '<html><body><img src="file:///etc/hostname"></body></html>'
    with pytest.raises(FatalURLFetchingError, match="reports load no resources"):
        write_pdf(html, tmp_path / "report.pdf")


def test_report_trend_of_predicted_total(gold, tmp_path):
    html = write_report(TARGET, tmp_path, gold, SETTINGS, GENERATED).read_text(encoding="utf-8")
    # Next period: 9.4 + 7.0 + 3.2 + 16 cells x 0.5 = 27.6. Later period: 19 x 50 = 950.
    assert "Predicted total, Dec 7: 27.6" in html
    assert "Predicted total, Dec 14: 950.0" in html
    assert "PAI 5% per backtest fold" in html
    # The model's PAI 5% per fold: 2.00 then 3.00.
    assert "Model (lightgbm), Nov 9: 3.00" in html


def test_predicted_totals_latest_run_per_period():
    frame = pd.DataFrame(
        {
            "run_id": ["r1", "r1", "r1", "r2", "r2"],
            "period_start": [
                date(2026, 11, 2),
                date(2026, 11, 9),
                date(2026, 11, 9),
                date(2026, 11, 9),
                date(2026, 11, 16),
            ],
            "predicted": [1.0, 2.0, 3.0, 10.0, 20.0],
            "created_at": [CREATED_OLD] * 3 + [CREATED_NEW] * 2,
        }
    )
    totals = predicted_totals(frame)
    assert list(totals["period_start"]) == [
        date(2026, 11, 2),
        date(2026, 11, 9),
        date(2026, 11, 16),
    ]
    assert list(totals["predicted"]) == [1.0, 10.0, 20.0]
    assert list(totals["run_id"]) == ["r1", "r2", "r2"]


def test_line_chart_geometry():
    # Plot frame: x 56..616 (560 wide), y 10..192 (182 high). The maximum 4 gives a tick
    # step of 1 and a y axis of 0..4, so value 2 sits at 10 + 182 / 2 = 101.
    chart = line_chart(
        ["a", "b", "c"],
        [Series("model", [2.0, 4.0, None], True), Series("baseline", [1.0, None, 3.0])],
        lambda value, digits: f"{value:.{digits}f}",
    )
    assert [tick["label"] for tick in chart["y_ticks"]] == ["0", "1", "2", "3", "4"]
    assert [tick["x"] for tick in chart["x_ticks"]] == ["56.0", "336.0", "616.0"]
    assert chart["series"][0]["segments"] == ["56.0,101.0 336.0,10.0"]
    assert chart["series"][0]["stroke_width"] == "2.5"
    # The gap splits the baseline into two one-point segments: 1 -> y 146.5, 3 -> y 55.5.
    assert chart["series"][1]["segments"] == ["56.0,146.5", "616.0,55.5"]
    assert chart["series"][1]["markers"][1]["title"] == "baseline, c: 3.00"


def write_district_file(path: Path, crs: str | None = "EPSG:2913") -> None:
    """Write two districts as a shapefile: 510 around the study area, 999 in Houston."""
    study = shapely.Polygon(
        [(-122.70, 45.50), (-122.66, 45.50), (-122.66, 45.54), (-122.70, 45.54)]
    )
    houston = shapely.Polygon([(-95.40, 29.70), (-95.30, 29.70), (-95.30, 29.80)])
    frame = gpd.GeoDataFrame(
        {"DISTRICT": ["510", "999"]}, geometry=[study, houston], crs="EPSG:4326"
    )
    if crs is None:
        # Writing without a CRS leaves out the .prj file, as in a shapefile that lost it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            frame.set_crs(None, allow_override=True).to_file(path)
    else:
        frame.to_crs(crs).to_file(path)


def test_report_draws_overlapping_districts(gold, tmp_path):
    write_district_file(tmp_path / "districts.shp")
    layer = DistrictLayer(path=str(tmp_path / "districts.shp"), name_field="DISTRICT")
    with_districts = SETTINGS.model_copy(update={"district_layers": [layer]})
    html = write_report(TARGET, tmp_path, gold, with_districts, GENERATED).read_text(
        encoding="utf-8"
    )
    assert html.count('class="district"') == 1
    assert "<title>District 510</title>" in html
    assert "District 999" not in html
    assert "Police district" in html


def test_districts_without_crs_need_setting(tmp_path):
    write_district_file(tmp_path / "districts.shp", crs=None)
    bounds = (45.49, -122.71, 45.55, -122.65)
    with pytest.raises(ValueError, match="declares no CRS"):
        read_districts(tmp_path / "districts.shp", "DISTRICT", bounds)
    districts = read_districts(tmp_path / "districts.shp", "DISTRICT", bounds, "EPSG:4326")
    assert [district.name for district in districts] == ["510"]


def test_districts_cut_to_bounds(tmp_path):
    write_district_file(tmp_path / "districts.shp")
    # The box covers the west half of district 510 only, so no point lies east of -122.68.
    bounds = (45.49, -122.71, 45.55, -122.68)
    [district] = read_districts(tmp_path / "districts.shp", "DISTRICT", bounds)
    longitudes = [lng for line in district.lines for _, lng in line]
    assert max(longitudes) <= -122.68 + 1e-9
    assert min(longitudes) == pytest.approx(-122.70, abs=1e-6)


def test_districts_missing_name_field(tmp_path):
    write_district_file(tmp_path / "districts.shp")
    with pytest.raises(KeyError, match="no column 'NAME'"):
        read_districts(tmp_path / "districts.shp", "NAME", (45.0, -123.0, 46.0, -122.0))


REAL_DISTRICTS = Path(load_profile("embedded").real_data) / "portland_police_districts.zip"


@pytest.mark.skipif(not REAL_DISTRICTS.exists(), reason="real Portland districts not present")
def test_real_portland_districts():
    # The published file has 60 district polygons in EPSG:2913 covering Portland, Oregon.
    districts = read_districts(REAL_DISTRICTS, "DISTRICT", (45.0, -123.5, 46.0, -122.0))
    assert len(districts) == 60
    points = [point for district in districts for line in district.lines for point in line]
    assert all(45.3 < lat < 45.8 for lat, _ in points)
    assert all(-123.0 < lng < -122.3 for _, lng in points)


def test_report_fold_metrics_subset(gold, tmp_path):
    pai_only = SETTINGS.model_copy(update={"fold_metrics": ["pai_5pct", "pai_1pct"]})
    report = parse_report(write_report(TARGET, tmp_path, gold, pai_only, GENERATED))
    # Configured metric order (pai_1pct first) wins over the fold_metrics order.
    assert report.tables["backtest-folds"][0] == [
        "Fold",
        "Period starts",
        "Method",
        "PAI 1%",
        "PAI 5%",
    ]
    assert report.tables["backtest-folds"][1] == [
        "1",
        "November 2, 2026",
        "Model (lightgbm)",
        "4.00",
        "2.00",
    ]
    assert len(report.tables["backtest-summary"][0]) == 6


def test_report_rank_labels_on_large_hexagons(gold, tmp_path):
    html = write_report(TARGET, tmp_path, gold, SETTINGS, GENERATED).read_text(encoding="utf-8")
    assert html.count('<text class="rank"') == len(TOP_CELLS)
    assert 'class="halo"' not in html


def test_report_halos_on_small_hexagons(profile, tmp_path):
    # A study cell 85 km east widens the map so much that hexagons shrink below label size.
    far_cell = h3.latlng_to_cell(45.52, -121.6, 8)
    rows = forecast_rows(NEW_RUN)
    rows.append(
        forecast_row(NEW_RUN, "lightgbm", NEXT_PERIOD, far_cell, 0.1, 0.0, 1.0, 20, [], CREATED_NEW)
    )
    write_gold(profile, rows, backtest_rows(NEW_RUN, NEW_BACKTESTS))
    report = parse_report(write_report(TARGET, tmp_path, profile, SETTINGS, GENERATED))
    html = (tmp_path / "street_crime_2026-12-07.html").read_text(encoding="utf-8")
    assert html.count('<circle class="halo"') == len(TOP_CELLS)
    assert '<text class="rank"' not in html
    assert len(report.polygons) == len(TOP_CELLS)


# Lake sections: freshness and quality of the target's silver source, emerging hot spots,
# appeals and media. The target street_crime counts the silver table SOURCE.
SOURCE = "houston_crime"
OTHER_TARGET = "other_target"


def hotspot_row(target: str, cell: str, pattern: str, last_z: float, trend_z: float) -> dict:
    return {
        "target": target,
        "h3_cell": cell,
        "pattern": pattern,
        "trend_z": trend_z,
        "trend_p": 0.0134,
        "last_gi_z": last_z,
        "last_gi_p": 0.01,
        "hot_weeks": 3,
        "cold_weeks": 0,
        "weeks": 12,
        "last_week": date(2026, 11, 23),
        "k_ring": 1,
        "alpha": 0.05,
        "computed_at": CREATED_NEW,
    }


def validation_result(validated_at: str, failed_column: str | None) -> dict:
    """Return a validation result laid out as the Great Expectations file store writes it."""
    results = [
        {
            "expectation_config": {
                "type": "expect_table_row_count_to_be_between",
                "kwargs": {"min_value": 1},
            },
            "result": {"observed_value": 5},
            "success": True,
        },
        {
            "expectation_config": {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "incident_id"},
            },
            "result": {},
            "success": True,
        },
        {
            "expectation_config": {
                "type": "expect_column_values_to_be_unique",
                "kwargs": {"column": failed_column or "incident_id"},
            },
            "result": {"unexpected_count": 2 if failed_column else 0},
            "success": failed_column is None,
        },
    ]
    successful = sum(item["success"] for item in results)
    return {
        "meta": {"validation_time": validated_at},
        "results": results,
        "statistics": {
            "evaluated_expectations": len(results),
            "successful_expectations": successful,
            "unsuccessful_expectations": len(results) - successful,
        },
        "success": successful == len(results),
        "suite_name": f"silver_{SOURCE}",
    }


def write_validation(profile, validated_at: str, failed_column: str | None) -> None:
    run_folder = validated_at.replace(":", "").replace("-", "").replace("+0000", "Z")
    folder = (
        profile.var / "gx" / "uncommitted" / "validations" / f"silver_{SOURCE}" / "__none__"
    ) / run_folder
    folder.mkdir(parents=True)
    path = folder / f"silver-silver_{SOURCE}.json"
    path.write_text(json.dumps(validation_result(validated_at, failed_column)), encoding="utf-8")


@pytest.fixture
def lake_profile(gold, tmp_path):
    """Gold tables, with var and forecast targets in tmp_path and street_crime on SOURCE."""
    import yaml

    conf = yaml.safe_load(Path("conf/forecasts.yml").read_text(encoding="utf-8"))
    entry = dict(conf["targets"]["houston_robbery"], source_table=SOURCE)
    forecasts_file = tmp_path / "forecasts.yml"
    forecasts_file.write_text(
        yaml.safe_dump({"defaults": conf["defaults"], "targets": {TARGET: entry}}),
        encoding="utf-8",
    )
    return gold.model_copy(
        update={"var_dir": str(tmp_path / "var"), "forecasts_file": str(forecasts_file)}
    )


@pytest.fixture
def lake(lake_profile):
    """Silver source with a write and a merge, rejects, validations, hot spots and texts."""
    from deltalake import DeltaTable

    from jobs.hotspots.job import write_hotspots
    from jobs.schemas import REJECTS

    profile = lake_profile
    source_path = str(profile.table_path("silver", SOURCE))
    write_deltalake(
        source_path,
        pa.table({"incident_id": ["a", "b", "c"], "offense": ["theft", "theft", "robbery"]}),
    )
    # The merge updates row c and inserts rows d and e.
    (
        DeltaTable(source_path)
        .merge(
            pa.table({"incident_id": ["c", "d", "e"], "offense": ["burglary", "theft", "theft"]}),
            predicate="target.incident_id = source.incident_id",
            source_alias="source",
            target_alias="target",
        )
        .when_matched_update_all()
        .when_not_matched_insert_all()
        .execute()
    )

    reasons = [(SOURCE, "invalid_timestamp")] * 1200 + [(SOURCE, "missing_key")] * 4
    reasons += [("portland_calls", "missing_key")] * 7
    write_deltalake(
        profile.table_path("silver", "rejects"),
        pa.Table.from_pylist(
            [
                {
                    "source": source,
                    "batch_id": "batch-1",
                    "record_key": str(index),
                    "reason_code": reason,
                    "reason_detail": "",
                    "raw_record": "{}",
                    "rejected_at": CREATED_NEW,
                }
                for index, (source, reason) in enumerate(reasons)
            ],
            schema=REJECTS,
        ),
    )

    write_validation(profile, "2026-12-01T08:00:00+00:00", None)
    write_validation(profile, "2026-12-03T09:15:00+00:00", "incident_id")

    cells = STUDY_CELLS
    rows = [
        hotspot_row(TARGET, cells[0], "intensifying_hot_spot", 4.0, 3.5),
        hotspot_row(TARGET, cells[1], "new_hot_spot", 2.5, 0.5),
        hotspot_row(TARGET, cells[2], "new_hot_spot", 3.126, 1.0),
        hotspot_row(TARGET, cells[3], "persistent_hot_spot", 2.0, 0.0),
        *(hotspot_row(TARGET, cell, "no_pattern", 0.1, 0.0) for cell in cells[4:7]),
    ]
    write_hotspots(profile, pd.DataFrame(rows), TARGET)
    other = [hotspot_row(OTHER_TARGET, cells[8], "new_hot_spot", 9.0, 9.0)]
    write_hotspots(profile, pd.DataFrame(other), OTHER_TARGET)

    write_deltalake(
        profile.table_path("silver", "appeals"),
        pd.DataFrame(
            {
                "appeal_id": [1, 2, 3, 4],
                "category": ["noise", "theft", "theft", "road"],
                "urgency": ["low", "high", "low", "low"],
                "is_overdue": [False, True, False, True],
            }
        ),
    )
    write_deltalake(
        profile.table_path("silver", "media_items"),
        pd.DataFrame({"item_id": ["m1", "m2", "m3"], "threat_class": ["fraud", "drugs", "fraud"]}),
    )
    return profile


def test_report_freshness_from_delta_history(lake, tmp_path):
    from deltalake import DeltaTable

    report = parse_report(write_report(TARGET, tmp_path / "out", lake, SETTINGS, GENERATED))
    commit = DeltaTable(str(lake.table_path("silver", SOURCE))).history(1)[0]
    loaded_at = Formatter("en").datetime_utc(
        datetime.fromtimestamp(commit["timestamp"] / 1000, tz=UTC)
    )
    assert report.tables["quality-freshness"] == [
        ["Delta table", "silver/houston_crime"],
        ["Last load", loaded_at],
        ["Table version", "1 (MERGE)"],
        ["Rows", "5"],
        ["Rows inserted by the last load", "2"],
        ["Rows updated by the last load", "1"],
    ]


def test_report_rejects_of_source_only(lake, tmp_path):
    report = parse_report(write_report(TARGET, tmp_path / "out", lake, SETTINGS, GENERATED))
    assert report.tables["quality-rejects"] == [
        ["Reason", "Rows"],
        ["invalid_timestamp", "1,200"],
        ["missing_key", "4"],
    ]


def test_report_latest_validation_shown(lake, tmp_path):
    report = parse_report(write_report(TARGET, tmp_path / "out", lake, SETTINGS, GENERATED))
    assert report.tables["quality-validation"] == [
        ["Validated", "December 3, 2026, 09:15 UTC"],
        ["Result", "Failed"],
        ["Expectations met", "2 / 3"],
        ["Failed expectations", "expect_column_values_to_be_unique (incident_id)"],
    ]


def test_report_hotspot_classes_of_target(lake, tmp_path):
    path = write_report(TARGET, tmp_path / "out", lake, SETTINGS, GENERATED)
    report = parse_report(path)
    assert report.tables["hotspot-classes"] == [
        ["Hot spot pattern", "Cells"],
        ["New hot spot", "2"],
        ["Intensifying hot spot", "1"],
        ["Persistent hot spot", "1"],
        ["No pattern", "3"],
    ]
    html = path.read_text(encoding="utf-8")
    assert "7 study cells" in html
    assert "November 23, 2026" in html


def test_report_hotspot_focus_cells(lake, tmp_path):
    report = parse_report(write_report(TARGET, tmp_path / "out", lake, SETTINGS, GENERATED))
    rows = report.tables["hotspot-cells"]
    assert rows[0] == ["H3 cell", "Hot spot pattern", "Gi* z, last week", "Trend z", "Trend p",
                       "Weeks hot"]  # fmt: skip
    assert rows[1:] == [
        [STUDY_CELLS[2], "New hot spot", "3.13", "1.00", "0.013", "3 / 12"],
        [STUDY_CELLS[1], "New hot spot", "2.50", "0.50", "0.013", "3 / 12"],
        [STUDY_CELLS[0], "Intensifying hot spot", "4.00", "3.50", "0.013", "3 / 12"],
    ]
    assert STUDY_CELLS[8] not in [row[0] for row in rows]


def test_report_appeal_and_media_counts(lake, tmp_path):
    path = write_report(TARGET, tmp_path / "out", lake, SETTINGS, GENERATED)
    report = parse_report(path)
    assert report.tables["appeal-categories"] == [
        ["Category", "Appeals"],
        ["theft", "2"],
        ["noise", "1"],
        ["road", "1"],
    ]
    assert report.tables["appeal-urgencies"] == [
        ["Urgency", "Appeals"],
        ["low", "3"],
        ["high", "1"],
    ]
    assert report.tables["media-classes"] == [
        ["Threat class", "Items"],
        ["fraud", "2"],
        ["drugs", "1"],
    ]
    html = path.read_text(encoding="utf-8")
    assert "4 appeals in the lake." in html
    assert "2 of them are open past their response deadline." in html


def test_report_lake_sections_russian(lake, tmp_path):
    russian = SETTINGS.model_copy(update={"language": "ru"})
    path = write_report(TARGET, tmp_path / "out", lake, russian, GENERATED)
    report = parse_report(path)
    assert report.tables["quality-rejects"][1] == ["invalid_timestamp", "1\xa0200"]
    assert report.tables["hotspot-cells"][1][2] == "3,13"
    assert report.tables["quality-validation"][0] == [
        "Проверено",
        "3 декабря 2026\u202fг., 09:15 UTC",
    ]
    assert "Формирующиеся горячие точки" in path.read_text(encoding="utf-8")


def test_report_lake_sections_kazakh_pdf(lake, tmp_path):
    kazakh = SETTINGS.model_copy(update={"language": "kk", "pdf": True})
    path = write_report(TARGET, tmp_path / "out", lake, kazakh, GENERATED)
    html = path.read_text(encoding="utf-8")
    assert "Пайда болып жатқан ыстық нүктелер" in html
    assert "http://" not in html
    assert "https://" not in html
    assert path.with_suffix(".pdf").read_bytes().startswith(b"%PDF-")


def test_report_lake_sections_omitted_without_data(lake_profile, tmp_path):
    html = write_report(TARGET, tmp_path / "out", lake_profile, SETTINGS, GENERATED).read_text(
        encoding="utf-8"
    )
    assert '<section class="quality">' not in html
    assert '<section class="hotspots">' not in html
    assert '<section class="appeals">' not in html


def test_report_quality_without_rejects_table(lake_profile, tmp_path):
    write_deltalake(
        str(lake_profile.table_path("silver", SOURCE)), pa.table({"incident_id": ["a", "b"]})
    )
    path = write_report(TARGET, tmp_path / "out", lake_profile, SETTINGS, GENERATED)
    report = parse_report(path)
    html = path.read_text(encoding="utf-8")
    assert report.tables["quality-freshness"][3] == ["Rows", "2"]
    assert report.tables["quality-freshness"][4] == ["Rows inserted by the last load", "2"]
    assert report.tables["quality-freshness"][5] == ["Rows updated by the last load", "–"]
    assert "quality-rejects" not in report.tables
    assert "quality-validation" not in report.tables
    assert "Rejected rows by reason" not in html


def test_report_no_quality_for_unknown_source(gold, tmp_path):
    # gold uses the repository's conf/forecasts.yml, which has no target street_crime.
    html = write_report(TARGET, tmp_path / "out", gold, SETTINGS, GENERATED).read_text(
        encoding="utf-8"
    )
    assert '<section class="quality">' not in html
