"""Hot-spot metrics on small cell sets whose expected values are worked out by hand."""

from __future__ import annotations

import math

import pytest

from models.metrics import (
    MetricInputError,
    flagged_count,
    hit_rate,
    mean_pei_star,
    pai,
    pei_star,
    rank_cells,
)

# Five cells. Scores rank a (0.9) first, then b and c tie at 0.5, then e (0.3), then d (0.1).
# Actual counts total 10; the best single cell is e (4), the best two are e and a (4 + 3 = 7).
IDS = ["a", "b", "c", "d", "e"]
SCORES = [0.9, 0.5, 0.5, 0.1, 0.3]
ACTUAL = [3, 0, 2, 1, 4]


@pytest.mark.parametrize(
    ("n_cells", "fraction", "expected"),
    [
        (5, 0.2, 1),
        (5, 0.4, 2),
        (10, 0.01, 1),  # 0.1 cells rounds to 0, raised to the minimum of 1
        (130, 0.01, 1),  # 1.3 rounds down
        (150, 0.01, 2),  # 1.5 rounds half up
        (50, 0.05, 3),  # 2.5 rounds half up
        (1000, 0.05, 50),
        (1833, 0.005, 9),  # 9.165 rounds down
        (1859, 0.005, 9),  # 9.295 rounds down
        (300, 0.005, 2),  # 1.5 rounds half up
    ],
)
def test_flagged_count_rounding(n_cells, fraction, expected):
    assert flagged_count(n_cells, fraction) == expected


def test_flagged_count_rejects_bad_fraction():
    with pytest.raises(MetricInputError, match="fraction"):
        flagged_count(10, 0.0)
    with pytest.raises(MetricInputError, match="n_cells"):
        flagged_count(0, 0.1)


def test_rank_cells_ties_by_cell_id():
    # b and c tie: b sorts first by id.
    assert list(rank_cells(SCORES, IDS)) == [0, 1, 2, 4, 3]
    # With ids reversed, position 2 ("c") sorts before position 1 ("d").
    assert list(rank_cells(SCORES, ["e", "d", "c", "b", "a"])) == [0, 2, 1, 4, 3]


def test_rank_cells_ties_by_position_without_ids():
    assert list(rank_cells([1.0, 2.0, 1.0, 2.0])) == [1, 3, 0, 2]


def test_one_cell_flagged():
    # n = 1: cell a flagged with 3 of 10 incidents on 1 of 5 equal cells.
    assert hit_rate(SCORES, ACTUAL, 0.2, IDS) == pytest.approx(0.3)
    assert pai(SCORES, ACTUAL, 1.0, 0.2, IDS) == pytest.approx(0.3 / 0.2)
    # The best single cell has 4.
    assert pei_star(SCORES, ACTUAL, 0.2, IDS) == pytest.approx(3 / 4)


def test_two_cells_flagged_tie_break_decides():
    # n = 2: a and b flagged (b wins the tie), 3 incidents, best two cells have 7.
    assert hit_rate(SCORES, ACTUAL, 0.4, IDS) == pytest.approx(0.3)
    assert pai(SCORES, ACTUAL, 1.0, 0.4, IDS) == pytest.approx(0.3 / 0.4)
    assert pei_star(SCORES, ACTUAL, 0.4, IDS) == pytest.approx(3 / 7)
    # Ids reversed: c wins the tie, so a and c are flagged with 3 + 2 = 5 incidents.
    reversed_ids = ["e", "d", "c", "b", "a"]
    assert pai(SCORES, ACTUAL, 1.0, 0.4, reversed_ids) == pytest.approx(0.5 / 0.4)
    assert pei_star(SCORES, ACTUAL, 0.4, reversed_ids) == pytest.approx(5 / 7)


def test_pai_with_unequal_areas():
    areas = [2.0, 1.0, 1.0, 1.0, 5.0]  # total 10
    # a alone covers 2/10 of the area.
    assert pai(SCORES, ACTUAL, areas, 0.2, IDS) == pytest.approx(0.3 / 0.2)
    # a and b cover 3/10 of the area with 3/10 of the incidents.
    assert pai(SCORES, ACTUAL, areas, 0.4, IDS) == pytest.approx(1.0)


def test_all_scores_tied_four_cells():
    ids = ["c", "a", "d", "b"]
    actual = [1, 2, 3, 4]
    # n = 2 flags a (2) and b (4) by id: 6 of 10 incidents.
    # The best two cells have 4 + 3 = 7.
    assert hit_rate([0, 0, 0, 0], actual, 0.5, ids) == pytest.approx(0.6)
    assert pai([0, 0, 0, 0], actual, 1.0, 0.5, ids) == pytest.approx(1.2)
    assert pei_star([0, 0, 0, 0], actual, 0.5, ids) == pytest.approx(6 / 7)


def test_perfect_ranking_pei_star_is_one():
    assert pei_star([4, 3, 2, 1], [4, 3, 2, 1], 0.5) == pytest.approx(1.0)
    # PAI of a perfect ranking on 4 cells with n = 2: (7 / 10) / (2 / 4).
    assert pai([4, 3, 2, 1], [4, 3, 2, 1], 1.0, 0.5) == pytest.approx(1.4)


def test_no_incidents_gives_nan():
    assert math.isnan(pai([1, 2, 3], [0, 0, 0], 1.0, 0.5))
    assert math.isnan(pei_star([1, 2, 3], [0, 0, 0], 0.5))
    assert math.isnan(hit_rate([1, 2, 3], [0, 0, 0], 0.5))


def test_invalid_inputs_raise():
    with pytest.raises(MetricInputError, match="actual_counts has 2 values"):
        pei_star([1, 2, 3], [1, 2], 0.5)
    with pytest.raises(MetricInputError, match="NaN"):
        pei_star([1, float("nan")], [1, 2], 0.5)
    with pytest.raises(MetricInputError, match="empty"):
        pei_star([], [], 0.5)
    with pytest.raises(MetricInputError, match="negative"):
        pei_star([1, 2], [1, -1], 0.5)
    with pytest.raises(MetricInputError, match="cell_area"):
        pai([1, 2], [1, 1], [1.0, 0.0], 0.5)


def test_half_percent_of_two_hundred_cells():
    # 0.005 * 200 = 1 cell flagged: the top-scored cell 0 contains 5 of 20 incidents, and
    # the best single cell (199) contains 9.
    scores = [200 - i for i in range(200)]
    actual = [0] * 200
    actual[0], actual[1], actual[199] = 5, 6, 9
    assert hit_rate(scores, actual, 0.005) == pytest.approx(5 / 20)
    assert pai(scores, actual, 1.0, 0.005) == pytest.approx((5 / 20) / (1 / 200))
    assert pei_star(scores, actual, 0.005) == pytest.approx(5 / 9)


def test_mean_pei_star_skips_folds_without_incidents():
    import pandas as pd

    rows = pd.DataFrame(
        {
            "fold": [1, 1, 1, 2, 2, 2, 3, 3, 3],
            "h3_cell": ["a", "b", "c"] * 3,
            # Fold 1 flags a (1 of best 3), fold 2 flags b (2 of 2), fold 3 has no incidents.
            "score": [3, 2, 1, 0, 5, 1, 1, 1, 1],
            "actual": [1, 3, 0, 0, 2, 1, 0, 0, 0],
        }
    )
    assert mean_pei_star(rows, 0.34) == pytest.approx((1 / 3 + 1.0) / 2)
    assert math.isnan(mean_pei_star(rows[rows["fold"] == 3], 0.34))
