"""Letters per Kazakhstan region: forecast cells sorted into the generated region outlines."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime

import h3
import pandas as pd
import pyarrow as pa
import pytest
import shapely
from conftest import write_kz_profile
from deltalake import write_deltalake

from jobs.hotspots.job import GOLD_EMERGING_HOTSPOTS, write_hotspots
from jobs.letters.cli import write_letters
from jobs.letters.regions import Region, assign_cells, letter_regions
from jobs.letters.settings import load_letter_settings
from jobs.schemas import GOLD_FORECASTS
from jobs.settings import PROJECT_ROOT

REAL_DATA = PROJECT_ROOT.parent / "shared" / "data" / "real"
KZ_LETTERS = PROJECT_ROOT / "conf" / "kz" / "letters.yml"
GENERATED = datetime(2026, 12, 4, 17, 30, tzinfo=UTC)
# The three cities of republican significance are discs around their gazetteer place in
# the generated outlines. The smallest, Almaty's, has a radius of 0.055 degrees of latitude
# (about 6 km). The centre of a resolution 6 cell lies within its edge length (about
# 3.7 km) of any point of the cell, so the cells of these places lie in their city.
CITIES = ("AST", "ALA", "SHY")


def pdf_text(path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def kz_profile(tmp_path, monkeypatch):
    """A kz profile whose landing folder contains the generated region outlines."""
    import yaml

    from jobs.settings import load_profile
    from jobs.synth import geography
    from jobs.synth.regions import write_region_outlines

    if not (REAL_DATA / "kz_places.csv.gz").exists():
        pytest.skip("gazetteer kz_places.csv.gz missing")
    world = tmp_path / "world"
    places = geography.read_places(REAL_DATA, {}, 1000)
    write_region_outlines(places, world / "dumps" / "regions", seed=7)
    path = write_kz_profile(tmp_path, world)
    profile = yaml.safe_load(path.read_text(encoding="utf-8"))
    profile["landing_dir"] = str(world / "dumps")
    profile["letters_file"] = str(KZ_LETTERS)
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    monkeypatch.setenv("BOLJAM_PROFILE_FILE", str(path))
    monkeypatch.setenv("BOLJAM_PSEUDONYM_KEY", "test-key-" + "0" * 32)
    centres = {
        code: (places.lat[places.region.index(code)], places.lon[places.region.index(code)])
        for code in CITIES
    }
    return load_profile(), centres


def write_gold(
    profile, cells_by_target: dict[str, list[str]], periods: dict[str, str] | None = None
) -> None:
    """Write one forecast run and a hot spot row per cell of each target.

    ``periods`` sets the period of some targets (default week). Targets whose name ends in
    ``_region`` get region units and no hot spots, as the forecast and hot spot jobs write.
    """
    created = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    periods = periods or {}
    rows = []
    for target, cells in cells_by_target.items():
        is_region = target.endswith("_region")
        for rank, cell in enumerate(cells, start=1):
            predicted = 10.0 - rank
            rows.append(
                {
                    "target": target,
                    "run_id": "run-1",
                    "model": "lightgbm",
                    "period": periods.get(target, "week"),
                    "period_start": date(2026, 12, 7),
                    "unit": "region" if is_region else "h3",
                    "area_id": cell,
                    "h3_cell": None if is_region else cell,
                    "predicted": predicted,
                    "lower": predicted - 1,
                    "upper": predicted + 1,
                    "risk_rank": rank,
                    "top_contributions": "[]",
                    "created_at": created,
                }
            )
    names = set(GOLD_FORECASTS.names)
    rows = [{key: value for key, value in row.items() if key in names} for row in rows]
    write_deltalake(
        str(profile.table_path("gold", "forecasts")),
        pa.Table.from_pylist(rows, schema=GOLD_FORECASTS),
    )
    for target, cells in cells_by_target.items():
        if target.endswith("_region"):
            continue
        hotspots = pd.DataFrame(
            [
                {
                    "target": target,
                    "h3_cell": cell,
                    "pattern": "new_hot_spot" if index == 0 else "no_pattern",
                    "trend_z": 0.1,
                    "trend_p": 0.9,
                    "last_gi_z": 3.5 if index == 0 else 0.2,
                    "last_gi_p": 0.001 if index == 0 else 0.8,
                    "hot_weeks": 1 if index == 0 else 0,
                    "cold_weeks": 0,
                    "weeks": 10,
                    "last_week": date(2026, 11, 30),
                    "k_ring": 1,
                    "alpha": 0.05,
                    "computed_at": created,
                }
                for index, cell in enumerate(cells)
            ]
        )
        write_hotspots(profile, hotspots[GOLD_EMERGING_HOTSPOTS.names], target)


def test_assign_cells_inside_and_nearest():
    west = Region("W", "West", shapely.box(0.0, 0.0, 1.0, 1.0))
    east = Region("E", "East", shapely.box(1.0, 0.0, 2.0, 1.0))
    inside_west = h3.latlng_to_cell(0.5, 0.3, 9)
    inside_east = h3.latlng_to_cell(0.5, 1.7, 9)
    # North of both boxes, nearer the east one.
    outside = h3.latlng_to_cell(1.2, 1.9, 9)

    assigned = assign_cells([inside_west, inside_east, outside], [west, east])

    assert assigned[inside_west] == "W"
    assert assigned[inside_east] == "E"
    assert assigned[outside] == "E"


def test_kz_letters_use_region_outlines():
    from models.targets import load_targets

    settings = load_letter_settings(KZ_LETTERS)
    targets = load_targets(PROJECT_ROOT / "conf" / "kz" / "forecasts.yml")
    assert settings.region_outlines is not None
    assert set(settings.region_outlines.targets) <= set(targets)


def test_letter_per_kz_region(kz_profile):
    profile, centres = kz_profile
    street = {code: h3.latlng_to_cell(*centres[code], 8) for code in CITIES}
    fraud = {code: h3.latlng_to_cell(*centres[code], 6) for code in CITIES}
    write_gold(
        profile, {"kz_street_crime": list(street.values()), "kz_fraud_r6": list(fraud.values())}
    )
    settings = load_letter_settings(profile.letters_path).model_copy(update={"smtp_conn_id": None})

    regions = letter_regions(profile, settings)
    letters = write_letters(profile, settings, send=False, generated_at=GENERATED)

    # The generator writes the 20 regions of the 2022 reform: 17 regions and 3 cities.
    assert len(regions) == 20
    assert len(letters) == 20
    assert {letter.region for letter in letters} == set(regions)
    assert regions["AST"].settings.recipient == "forecasting-AST@kz.localhost"
    texts = {letter.region: pdf_text(letter.pdf) for letter in letters}
    for code in CITIES:
        others = [other for other in CITIES if other != code]
        assert street[code] in texts[code], code
        assert fraud[code] in texts[code], code
        for other in others:
            assert street[other] not in texts[code], f"{other} cell in the {code} letter"
            assert fraud[other] not in texts[code], f"{other} cell in the {code} letter"
    # A region without any of the cells lists none, not another region's cells.
    assert not any(cell in texts["KAR"] for cell in [*street.values(), *fraud.values()])
    assert "Ни одна ячейка прогноза по этой цели не лежит в этом регионе" in " ".join(
        texts["KAR"].split()
    )


def test_letters_show_daily_and_region_targets(kz_profile):
    import re

    profile, centres = kz_profile
    street = {code: h3.latlng_to_cell(*centres[code], 8) for code in CITIES}
    fraud = {code: h3.latlng_to_cell(*centres[code], 6) for code in CITIES}
    # SHY gets no row of the region target; XXX has no outline.
    write_gold(
        profile,
        {
            "kz_street_crime": list(street.values()),
            "kz_fraud_r6": list(fraud.values()),
            "kz_fraud_region": ["ALA", "AST", "XXX"],
        },
        periods={"kz_fraud_r6": "day", "kz_fraud_region": "day"},
    )
    settings = load_letter_settings(profile.letters_path).model_copy(update={"smtp_conn_id": None})
    outlines = settings.region_outlines.model_copy(
        update={"targets": ["kz_street_crime", "kz_fraud_r6", "kz_fraud_region"]}
    )
    settings = settings.model_copy(update={"region_outlines": outlines})

    letters = write_letters(profile, settings, send=False, generated_at=GENERATED)
    texts = {letter.region: " ".join(pdf_text(letter.pdf).split()) for letter in letters}

    # Weekly street crime shows its Monday to Sunday, the daily targets their one day.
    assert "Период прогноза: 7 декабря 2026 г. – 13 декабря 2026 г." in texts["AST"]
    assert texts["AST"].count("Период прогноза: 7 декабря 2026 г.") == 3
    assert texts["AST"].count("Период прогноза: 7 декабря 2026 г. –") == 1
    # Each region's letter lists its own region code with the target's rank.
    assert re.search(r"\b2 AST 8,0\b", texts["AST"]), texts["AST"]
    assert re.search(r"\b1 ALA 9,0\b", texts["ALA"]), texts["ALA"]
    assert "ALA" not in texts["AST"]
    assert "AST" not in texts["ALA"]
    assert "XXX" not in " ".join(texts.values())
    shymkent_region_section = texts["SHY"].split("Цель прогноза: kz_fraud_region", 1)[1]
    assert "Ни одна ячейка прогноза по этой цели не лежит в этом регионе" in (
        shymkent_region_section
    )
