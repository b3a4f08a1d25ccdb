"""Feature, holiday calendar and objective settings of forecast targets."""

from __future__ import annotations

import pytest
import yaml

from jobs.settings import ConfigError
from models.targets import LightGBMSettings, load_targets

BASE_TARGET = {
    "source_table": "houston_crime",
    "timezone": "America/Chicago",
    "offenses": ["robbery"],
    "h3_resolution": 8,
    "period": "week",
    "horizon": 1,
    "evaluation_weeks": 8,
    "min_history_weeks": 4,
    "study_area": "cells_with_incidents",
    "hotspot_fractions": [0.01],
    "interval_level": 0.8,
    "seed": 1,
}


def write_targets(tmp_path, **fields):
    path = tmp_path / "forecasts.yml"
    path.write_text(yaml.safe_dump({"targets": {"t": BASE_TARGET | fields}}), encoding="utf-8")
    return path


def test_tweedie_params():
    params = LightGBMSettings(objective="tweedie", tweedie_variance_power=1.2).to_params(7)
    assert params["objective"] == "tweedie"
    assert params["tweedie_variance_power"] == 1.2
    assert params["seed"] == 7


def test_poisson_params_leave_out_variance_power():
    params = LightGBMSettings().to_params(7)
    assert params["objective"] == "poisson"
    assert "tweedie_variance_power" not in params


def test_country_and_features_load(tmp_path):
    features = {"rolling_weeks": [4, 8, 16], "max_ring": 3, "trend": False}
    path = write_targets(tmp_path, country="GB", subdivision="SCT", features=features)
    target = load_targets(path)["t"]
    assert target.country == "GB"
    assert target.subdivision == "SCT"
    assert target.features.rolling_weeks == [4, 8, 16]
    assert target.features.max_ring == 3
    assert target.features.trend is False
    assert target.features.near_repeat is True


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"country": "XX"}, "no calendar for country 'XX'"),
        ({"country": "GB", "subdivision": "ZZZ"}, "subdivision 'ZZZ'"),
        ({"subdivision": "SCT"}, "subdivision needs a country"),
        ({"country": "us"}, "field country"),
        ({"features": {"rolling_weeks": [4]}}, "must contain 4 and 8"),
        ({"features": {"max_ring": 9}}, "field features.max_ring"),
        ({"lightgbm": {"objective": "gamma"}}, "field lightgbm.objective"),
    ],
)
def test_invalid_settings_rejected(tmp_path, fields, message):
    with pytest.raises(ConfigError, match=message):
        load_targets(write_targets(tmp_path, **fields))
