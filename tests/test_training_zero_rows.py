"""fit_booster with zero-count rows sampled and weighted back up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.training import fit_booster

PARAMS = {
    "objective": "poisson",
    "learning_rate": 0.1,
    "num_leaves": 7,
    "min_data_in_leaf": 20,
    "seed": 11,
    "deterministic": True,
    "num_threads": 1,
    "verbosity": -1,
}


def sparse_counts(rate_low: float, rate_high: float, n: int = 20000) -> pd.DataFrame:
    """Counts drawn with rate ``rate_low`` where x = 0 and ``rate_high`` where x = 1."""
    rng = np.random.default_rng(5)
    x = rng.integers(0, 2, n).astype(float)
    rate = np.where(x == 1, rate_high, rate_low)
    return pd.DataFrame(
        {
            "h3_cell": [f"c{i % 50}" for i in range(n)],
            "week_start": np.arange(n) // 50,
            "x": x,
            "count": rng.poisson(rate).astype(float),
        }
    )


def test_sampled_zero_rows_keep_rates():
    train = sparse_counts(0.02, 0.2)
    probe = pd.DataFrame({"x": [0.0, 1.0]})

    full = fit_booster(train, ["x"], PARAMS, 100).predict(probe)
    sampled = fit_booster(train, ["x"], PARAMS, 100, zero_fraction=0.1).predict(probe)

    # The drawn rates, within sampling noise of the 10,000 rows per value of x.
    assert full[0] == pytest.approx(0.02, abs=0.005)
    assert full[1] == pytest.approx(0.2, abs=0.02)
    # Weighting the kept zeros by 10 keeps both rates, where dropping 90% of the zeros
    # unweighted would raise the low rate to about 0.02 / (0.02 + 0.98 * 0.1) = 0.17.
    assert sampled[0] == pytest.approx(0.02, abs=0.008)
    assert sampled[1] == pytest.approx(0.2, abs=0.03)


def test_zero_fraction_out_of_range_is_rejected():
    with pytest.raises(ValueError, match="zero_fraction must be in"):
        fit_booster(sparse_counts(0.02, 0.2, 100), ["x"], PARAMS, 5, zero_fraction=0.0)
