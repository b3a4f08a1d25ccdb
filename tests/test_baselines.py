"""Coordinate baselines, conformal intervals and the champion rule on hand-worked cases."""

from __future__ import annotations

import math

import h3
import pandas as pd
import pytest

from models.backtest import add_conformal_intervals
from models.intervals import conformal_interval, conformal_quantile, pearson_scores
from models.spatial_baselines import (
    ProspectiveSettings,
    choose_bandwidth,
    fine_grid_steps,
    kde_scores,
    prospective_scores,
    prospective_surface,
    study_cell_points,
)

# Two resolution-8 cells in Houston about 10 km apart, so no kernel reaches both.
CELL_A = h3.latlng_to_cell(29.76, -95.37, 8)
CELL_B = h3.latlng_to_cell(29.70, -95.45, 8)


def events_at(cell: str, weeks: list[int], resolution: int) -> pd.DataFrame:
    """Return one event per week at the centroid of the centre child of ``cell``."""
    lat, lon = h3.cell_to_latlng(h3.cell_to_center_child(cell, resolution))
    return pd.DataFrame({"lat": lat, "lon": lon, "week_index": weeks})


def test_pearson_scores_by_hand():
    # |0 - 1| / 1, |4 - 1| / 1, |1 - 4| / 2
    assert list(pearson_scores([0, 4, 1], [1, 1, 4])) == pytest.approx([1.0, 3.0, 1.5])


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (0.5, 2.0),  # ceil(6 * 0.5) = 3rd smallest
        (0.8, 4.0),  # ceil(6 * 0.8) = 5th smallest
        (0.9, math.inf),  # ceil(6 * 0.9) = 6 > 5 scores
    ],
)
def test_conformal_quantile_rank(level, expected):
    assert conformal_quantile([3.0, 0.5, 4.0, 1.0, 2.0], level) == expected


def test_conformal_quantile_rejects_empty_and_bad_level():
    with pytest.raises(ValueError, match="no calibration scores"):
        conformal_quantile([], 0.8)
    with pytest.raises(ValueError, match="level"):
        conformal_quantile([1.0], 1.0)


def test_conformal_interval_clips_at_zero():
    lower, upper = conformal_interval([4.0, 1.0, 0.0], 2.0)
    # 4 -/+ 2 * 2, 1 -/+ 2 * 1 (lower clipped), 0 -/+ 0
    assert list(lower) == pytest.approx([0.0, 0.0, 0.0])
    assert list(upper) == pytest.approx([8.0, 3.0, 0.0])
    lower, _ = conformal_interval([4.0], 1.5)
    assert lower[0] == pytest.approx(1.0)


def test_conformal_intervals_use_tuning_folds_only():
    rows = pd.DataFrame(
        {
            "fold": [0, 0, 0, -1, 1],
            "actual": [0.0, 4.0, 1.0, 2.0, 9.0],
            "score": [1.0, 1.0, 4.0, 1.0, 4.0],
            "lower": 0.0,
            "upper": 0.0,
        }
    )
    calibrated, evaluation_quantile, final_quantile = add_conformal_intervals(rows, 0.5)
    # Tuning scores 1, 3, 1.5, 1: the 3rd smallest of 4 (ceil(5 * 0.5)) is 1.5.
    assert evaluation_quantile == pytest.approx(1.5)
    # With the evaluation row's 2.5 added, the 3rd smallest of 5 is still 1.5.
    assert final_quantile == pytest.approx(1.5)
    evaluation = calibrated[calibrated["fold"] == 1].iloc[0]
    # 4 -/+ 1.5 * 2
    assert evaluation["lower"] == pytest.approx(1.0)
    assert evaluation["upper"] == pytest.approx(7.0)


def test_conformal_intervals_keep_poisson_without_tuning():
    rows = pd.DataFrame(
        {"fold": [1, 2], "actual": [1.0, 2.0], "score": [1.0, 1.0], "lower": 0.0, "upper": 3.0}
    )
    calibrated, evaluation_quantile, _ = add_conformal_intervals(rows, 0.8)
    assert evaluation_quantile is None
    assert list(calibrated["upper"]) == [3.0, 3.0]


def test_kde_with_narrow_bandwidth_by_hand():
    points = study_cell_points([CELL_A, CELL_B])
    # Events of weeks 0 and 1 count for week 2; the week-2 event is in the future.
    events = events_at(CELL_A, [0, 1, 2], resolution=9)
    scores = kde_scores(events, points, week_index=2, bandwidths_m=(80.0,)).set_index("h3_cell")
    # The other child centroids lie about 370 m from the centre child, beyond the 3 x 80 m
    # cut-off, so only the centre child gets the two events, at distance 0. The cell's
    # density is the mean over its 7 children: 2 / (2 pi 0.08^2) / 7 per km², over 2 weeks,
    # times the area.
    area = h3.cell_area(CELL_A, unit="km^2")
    expected = area * (2 / (2 * math.pi * 0.08**2)) / 7 / 2
    assert scores.loc[CELL_A, "score"] == pytest.approx(expected, rel=1e-9)
    assert scores.loc[CELL_B, "score"] == 0.0


def test_kde_wide_bandwidth_matches_great_circle_distances():
    points = study_cell_points([CELL_A, CELL_B])
    events = events_at(CELL_A, [0], resolution=9)
    scores = kde_scores(events, points, week_index=1, bandwidths_m=(500.0,)).set_index("h3_cell")
    source = h3.cell_to_latlng(h3.cell_to_center_child(CELL_A, 9))
    densities = [
        math.exp(-0.5 * (h3.great_circle_distance(source, h3.cell_to_latlng(child)) / 0.5) ** 2)
        / (2 * math.pi * 0.5**2)
        for child in h3.cell_to_children(CELL_A, 9)
    ]
    expected = h3.cell_area(CELL_A, unit="km^2") * sum(densities) / 7
    # The local plane projection differs from great-circle distances by far less than 0.1%.
    assert scores.loc[CELL_A, "score"] == pytest.approx(expected, rel=1e-3)


def test_kde_without_history_scores_zero():
    points = study_cell_points([CELL_A, CELL_B])
    scores = kde_scores(events_at(CELL_A, [3], 9), points, week_index=2, bandwidths_m=(100.0,))
    assert list(scores["score"]) == [0.0, 0.0]


@pytest.mark.parametrize(
    ("resolution", "band_m", "expected"),
    [
        # Resolution-10 hexagons have edges of about 75.9 m, centres 131.4 m apart.
        (8, 400.0, (10, 3)),
        (8, 150.0, (10, 1)),
        (8, 100.0, (10, 0)),
        # Resolution-9 hexagons: edges of about 200.8 m, centres 347.8 m apart.
        (7, 400.0, (9, 1)),
    ],
)
def test_fine_grid_steps(resolution, band_m, expected):
    assert fine_grid_steps(resolution, band_m) == expected


def test_prospective_time_weights_by_hand():
    # A band under one fine-cell step: each event counts in its own fine cell only.
    settings = ProspectiveSettings(band_m=50.0, weeks=8)
    events = pd.concat(
        [
            events_at(CELL_A, [9, 8], resolution=10),  # 1 / (1 + 0) + 1 / (1 + 1)
            events_at(CELL_B, [9], resolution=10),  # 1
            events_at(CELL_B, [1], resolution=10),  # 9 weeks before week 10: outside
            events_at(CELL_B, [10], resolution=10),  # the scored week itself: left out
        ],
        ignore_index=True,
    )
    cells = [CELL_A, CELL_B]
    raw = prospective_surface(events, cells, 8, week_index=10, settings=settings)
    assert list(raw) == pytest.approx([1.5, 1.0])
    # Three events in the 8-week window: scores add up to 3 / 8 a week, shared 1.5 : 1.
    scores = prospective_scores(events, cells, 8, week_index=10, settings=settings)
    assert list(scores["score"]) == pytest.approx([3 / 8 * 1.5 / 2.5, 3 / 8 * 1.0 / 2.5])


def test_prospective_distance_weights_by_hand():
    # One step on the resolution-10 grid: the event's fine cell gets 1 and its six
    # neighbours 1 / 2 each. All seven lie in the cell, around the centre child.
    settings = ProspectiveSettings(band_m=150.0, weeks=4)
    events = events_at(CELL_A, [3], resolution=10)
    raw = prospective_surface(events, [CELL_A, CELL_B], 8, week_index=4, settings=settings)
    assert list(raw) == pytest.approx([1 + 6 * 0.5, 0.0])


def test_choose_bandwidth_by_tuning_pei():
    # Four cells, fraction 0.25 flags one cell per fold.
    cells = ["a", "b", "c", "d"]
    actual = {0: [2, 3, 0, 0], -1: [0, 1, 0, 0]}
    scores = {
        # Flags a in fold 0 (2 of best 3) and b in fold -1 (1 of 1): mean 5/6.
        100.0: {0: [4, 3, 2, 1], -1: [1, 2, 0, 0]},
        # Flags b in both folds: 1 and 1.
        200.0: {0: [1, 3, 2, 1], -1: [1, 2, 0, 0]},
    }
    rows = [
        (fold, bandwidth, cell, actual[fold][i], scores[bandwidth][fold][i])
        for bandwidth in scores
        for fold in actual
        for i, cell in enumerate(cells)
    ]
    tuning = pd.DataFrame(rows, columns=["fold", "bandwidth_m", "h3_cell", "actual", "score"])
    chosen, means = choose_bandwidth(tuning, 0.25, default_m=400.0)
    assert chosen == 200.0
    assert means[100.0] == pytest.approx(5 / 6)
    assert means[200.0] == pytest.approx(1.0)
    # Equal scores flag cell a in both folds for both bandwidths; the tie goes to 100 m.
    tied = tuning.assign(score=0.0)
    assert choose_bandwidth(tied, 0.25, default_m=400.0)[0] == 100.0
    assert choose_bandwidth(tuning.iloc[0:0], 0.25, default_m=400.0) == (400.0, {})


@pytest.fixture
def registry(tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("champion-rule", artifact_location=str(tmp_path))
    client.create_registered_model("boljam-test")
    return client, experiment, tmp_path


def _register(client, experiment, folder, model_value: float) -> str:
    run = client.create_run(experiment)
    client.log_metric(run.info.run_id, "model_pei_star_1pct", model_value)
    client.set_terminated(run.info.run_id)
    version = client.create_model_version("boljam-test", source=str(folder), run_id=run.info.run_id)
    return str(version.version)


def test_champion_alias_moves_only_on_win(registry):
    from models.tracking import apply_champion_rule

    client, experiment, folder = registry

    def decide(model_value, baseline_value=0.70):
        version = _register(client, experiment, folder, model_value)
        metrics = {
            "model_pei_star_1pct": model_value,
            "baseline_long_run_mean_pei_star_1pct": baseline_value,
        }
        promoted, reason = apply_champion_rule(
            client, "boljam-test", version, metrics, "pei_star_1pct"
        )
        champion = client.get_registered_model("boljam-test").aliases.get("champion")
        return version, promoted, reason, str(champion)

    # No champion yet: beating the baselines is enough.
    version, promoted, _, champion = decide(0.80)
    assert promoted
    assert champion == version == "1"
    # Beats the baseline but not champion version 1 (0.80): stays a challenger.
    version, promoted, reason, champion = decide(0.75)
    assert not promoted
    assert champion == "1"
    assert "champion_version_1" in reason
    assert client.get_model_version("boljam-test", version).tags["champion_rule"] == reason
    # Beats the champion but not a baseline: stays a challenger.
    _, promoted, reason, champion = decide(0.85, baseline_value=0.90)
    assert not promoted
    assert champion == "1"
    assert "baseline_long_run_mean" in reason
    # Beats both: the alias moves.
    version, promoted, _, champion = decide(0.82)
    assert promoted
    assert champion == version == "4"
