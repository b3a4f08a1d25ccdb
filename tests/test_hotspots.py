"""Emerging hot spots: hand-built H3 x week panels whose classes follow from the definitions.

The study area is a resolution-8 cell in Houston with its four rings (61 cells). In a week
where a cluster of cells counts 5 and every other cell 0, Gi* over one ring is the same as
for the 0/1 indicator of the cluster, because Gi* z does not change under x -> a*x + b. For
an interior cell with m cluster cells inside its 7-cell disk and a cluster of c cells in
all, z = (m - 7c/61) / (sqrt(c/61 - (c/61)^2) * sqrt((61*7 - 49)/60)). So:

- the centre, when the cluster is its whole disk (m = c = 7): z = 7.74, hot;
- the centre, when the cluster is the disk of a cell three rings away (m = 0, c = 7):
  z = -1.00, p = 0.32, neither hot nor cold;
- the centre, when its disk is 0 and the other 54 cells 5: z = -7.74, cold;
- the centre with m = c cluster cells of its own disk: z = 2.77, 3.88, 4.76, 5.38, 6.02,
  6.63, 7.74 for m = 1 ... 7, all hot at alpha 0.05 and rising with m.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import h3
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from jobs.hotspots.analysis import (
    classify,
    emerging_hotspots,
    gi_star,
    mann_kendall,
    ring_weights,
    weekly_gi_star,
)
from jobs.hotspots.job import (
    GOLD_EMERGING_HOTSPOTS,
    analyse_target,
    read_hotspots,
    weekly_panel,
    write_hotspots,
)
from models.panel import PanelError, WeekRange
from models.targets import TargetConfig

CENTRE = h3.latlng_to_cell(29.76, -95.37, 8)
AREA = sorted(h3.grid_disk(CENTRE, 4))
# Centre of the decoy cluster: three rings away, so its disk and the centre's disk are
# disjoint and both lie inside the study area.
DECOY = sorted(h3.grid_ring(CENTRE, 3))[0]
# A cell three rings away on the far side from the decoy: its disk never meets a cluster.
QUIET = max(h3.grid_ring(CENTRE, 3), key=lambda cell: h3.grid_distance(cell, DECOY))
CENTRE_DISK = sorted(h3.grid_disk(CENTRE, 1))
DECOY_DISK = sorted(h3.grid_disk(DECOY, 1))
FIRST_WEEK = date(2026, 9, 7)


def week_counts(kind: str) -> dict[str, int]:
    """Counts of one week: "centre" or "decoy" cluster of 5s, or "cold" (centre disk 0)."""
    if kind == "centre":
        return {cell: 5 for cell in CENTRE_DISK}
    if kind == "decoy":
        return {cell: 5 for cell in DECOY_DISK}
    if kind == "cold":
        return {cell: 5 for cell in AREA if cell not in CENTRE_DISK}
    raise ValueError(kind)


def build_panel(weeks: list[dict[str, int]]) -> pd.DataFrame:
    rows = []
    for index, counts in enumerate(weeks):
        start = FIRST_WEEK + timedelta(weeks=index)
        rows.extend(
            {"h3_cell": cell, "week_start": start, "count": counts.get(cell, 0)} for cell in AREA
        )
    return pd.DataFrame(rows)


def classes(weeks: list[str]) -> pd.DataFrame:
    result = emerging_hotspots(build_panel([week_counts(kind) for kind in weeks]), k=1)
    return result.set_index("h3_cell")


def test_gi_star_matches_hand_formula():
    # 19 cells; the centre's disk counts 3, the outer ring 0. n = 19, mean = 21/19,
    # S^2 = 63/19 - (21/19)^2 = 756/361, W = 7:
    # z = (21 - 7 * 21/19) / (S * sqrt((19*7 - 49)/18)) = 252 / sqrt(3528) = sqrt(18).
    cells = sorted(h3.grid_disk(CENTRE, 2))
    counts = np.array([3 if h3.grid_distance(CENTRE, cell) <= 1 else 0 for cell in cells])
    z, p = gi_star(counts, ring_weights(cells))
    centre = cells.index(CENTRE)
    assert z[centre] == pytest.approx(math.sqrt(18))
    assert p[centre] == pytest.approx(2.21e-5, abs=1e-7)  # 2 * (1 - Phi(4.243))


def test_gi_star_of_uniform_week_is_zero():
    z, p = gi_star(np.ones(len(AREA)), ring_weights(AREA))
    assert np.all(z == 0)
    assert np.all(p == 1)


def test_ring_weights_stop_at_study_area():
    cells = sorted(h3.grid_disk(CENTRE, 1))
    weights = ring_weights(cells)
    assert weights.cardinalities[CENTRE] == 6
    edge = next(cell for cell in cells if cell != CENTRE)
    # An edge cell touches the centre and its two neighbours on the ring.
    assert weights.cardinalities[edge] == 3
    assert CENTRE not in weights.neighbors[CENTRE]


def test_ring_weights_reject_zero_rings():
    with pytest.raises(ValueError, match="k-ring size 0"):
        ring_weights(AREA, 0)


def test_weekly_gi_star_hot_and_not_cold():
    gi = weekly_gi_star(build_panel([week_counts("centre"), week_counts("decoy")]))
    centre = gi[gi["h3_cell"] == CENTRE].reset_index(drop=True)
    assert centre.loc[0, "gi_z"] == pytest.approx(7.74, abs=0.01)
    assert centre.loc[1, "gi_z"] == pytest.approx(-1.00, abs=0.01)
    assert centre.loc[1, "gi_p"] > 0.05


def test_new_hot_spot_and_historical():
    result = classes(["decoy"] * 9 + ["centre"])
    assert result.loc[CENTRE, "pattern"] == "new_hot_spot"
    assert result.loc[CENTRE, "hot_weeks"] == 1
    # Hot in 9 of 10 weeks (90%) but not in the final one.
    assert result.loc[DECOY, "pattern"] == "historical_hot_spot"
    assert result.loc[DECOY, "hot_weeks"] == 9
    assert result.loc[QUIET, "pattern"] == "no_pattern"
    assert result.loc[QUIET, "hot_weeks"] == 0
    assert result.loc[QUIET, "cold_weeks"] == 0


def test_consecutive_hot_spot():
    result = classes(["decoy"] * 7 + ["centre"] * 3)
    assert result.loc[CENTRE, "pattern"] == "consecutive_hot_spot"
    # Hot in 7 of 10 weeks, not the final one: below 90%, so no class.
    assert result.loc[DECOY, "pattern"] == "no_pattern"


def test_sporadic_hot_spot():
    weeks = ["decoy"] * 10
    for index in (1, 4, 9):
        weeks[index] = "centre"
    result = classes(weeks)
    assert result.loc[CENTRE, "pattern"] == "sporadic_hot_spot"
    assert result.loc[CENTRE, "hot_weeks"] == 3


def test_oscillating_hot_spot():
    weeks = ["decoy"] * 10
    weeks[2] = "cold"
    weeks[5] = "centre"
    weeks[9] = "centre"
    result = classes(weeks)
    assert result.loc[CENTRE, "pattern"] == "oscillating_hot_spot"
    assert result.loc[CENTRE, "cold_weeks"] == 1


def test_new_cold_spot():
    result = classes(["decoy"] * 9 + ["cold"])
    assert result.loc[CENTRE, "pattern"] == "new_cold_spot"
    assert result.loc[CENTRE, "last_gi_z"] == pytest.approx(-7.74, abs=0.01)


def own_disk_weeks(cluster_sizes: list[int]) -> list[dict[str, int]]:
    """Weeks with the centre plus the first m - 1 cells of its ring counting 5."""
    ring = sorted(h3.grid_ring(CENTRE, 1))
    return [{cell: 5 for cell in [CENTRE, *ring[: size - 1]]} for size in cluster_sizes]


def test_intensifying_hot_spot():
    result = emerging_hotspots(build_panel(own_disk_weeks([1, 2, 3, 4, 5, 6, 7])))
    centre = result.set_index("h3_cell").loc[CENTRE]
    assert centre["pattern"] == "intensifying_hot_spot"
    assert centre["hot_weeks"] == 7
    # Seven rising values: S = 21, var(S) = 7*6*19/18, z = 20 / sqrt(44.33) = 3.00.
    assert centre["trend_z"] == pytest.approx(3.004, abs=0.001)


def test_diminishing_hot_spot():
    result = emerging_hotspots(build_panel(own_disk_weeks([7, 6, 5, 4, 3, 2, 1])))
    centre = result.set_index("h3_cell").loc[CENTRE]
    assert centre["pattern"] == "diminishing_hot_spot"
    assert centre["trend_z"] == pytest.approx(-3.004, abs=0.001)


def test_persistent_hot_spot():
    result = emerging_hotspots(build_panel(own_disk_weeks([4] * 7)))
    centre = result.set_index("h3_cell").loc[CENTRE]
    assert centre["pattern"] == "persistent_hot_spot"
    assert centre["trend_p"] == 1.0


@pytest.mark.parametrize(
    ("hot", "cold", "trend_z", "trend_p", "expected"),
    [
        # 9 of 10 weeks hot, final included, no trend: exactly the 90% share.
        ([False] + [True] * 9, [False] * 10, 0.5, 0.6, "persistent"),
        # 8 of 10 hot with the final one and a gap: below 90%, never cold.
        (
            [True, True, False, True, True, True, False, True, True, True],
            [False] * 10,
            0.0,
            1.0,
            "sporadic",
        ),
        # Hot only in the final week after an earlier cold week.
        ([False, False, True], [True, False, False], 0.0, 1.0, "oscillating"),
        # Not hot in the final week and hot in fewer than 90% of the weeks.
        ([True, True, False], [False] * 3, 0.0, 1.0, None),
        # A significant rise is not enough without the 90% share.
        ([False, True, True], [False] * 3, 3.0, 0.001, "consecutive"),
    ],
)
def test_classify_rules(hot, cold, trend_z, trend_p, expected):
    assert classify(hot, cold, trend_z, trend_p, alpha=0.05) == expected


def test_mann_kendall_needs_three_weeks():
    assert mann_kendall([1.0, 2.0], alpha=0.05) == (0.0, 1.0)


def test_emerging_hotspots_reject_alpha():
    with pytest.raises(ValueError, match="alpha=1.5"):
        emerging_hotspots(build_panel([week_counts("centre")] * 3), alpha=1.5)


def target_config(offenses) -> TargetConfig:
    return TargetConfig(
        name="test_burglary",
        source_table="test_crime",
        timezone="America/Chicago",
        offenses=offenses,
        h3_resolution=8,
        period="week",
        horizon=1,
        evaluation_weeks=1,
        min_history_weeks=1,
        study_area="cells_with_incidents",
        hotspot_fractions=[0.05],
        interval_level=0.8,
        seed=1,
    )


def test_weekly_panel_drops_partial_weeks():
    # A table from Wednesday 4 November to Sunday 22 November 2026 has two complete weeks.
    weeks = WeekRange(date(2026, 11, 9), date(2026, 11, 16))
    other = sorted(h3.grid_ring(CENTRE, 1))[0]
    incidents = pd.DataFrame(
        {
            "h3_cell": [CENTRE, CENTRE, CENTRE, other],
            "local_date": [
                date(2026, 11, 4),
                date(2026, 11, 9),
                date(2026, 11, 15),
                date(2026, 11, 22),
            ],
        }
    )
    panel = weekly_panel(incidents, weeks).set_index(["h3_cell", "week_start"])["count"]
    assert len(panel) == 4
    assert panel[(CENTRE, date(2026, 11, 9))] == 2
    assert panel[(CENTRE, date(2026, 11, 16))] == 0
    assert panel[(other, date(2026, 11, 9))] == 0
    assert panel[(other, date(2026, 11, 16))] == 1


def test_weekly_panel_rejects_no_weeks():
    incidents = pd.DataFrame({"h3_cell": [CENTRE], "local_date": [date(2026, 11, 4)]})
    with pytest.raises(PanelError, match="no incidents in the complete weeks"):
        weekly_panel(incidents, WeekRange(date(2026, 11, 9), date(2026, 11, 16)))


def write_silver(profile, kinds: list[str]) -> None:
    """Write a silver table whose burglaries make the panel of ``kinds``; thefts add noise."""
    rows = []
    for index, kind in enumerate(kinds):
        monday = FIRST_WEEK + timedelta(weeks=index)
        for cell, count in week_counts(kind).items():
            rows.extend(
                {"h3_r8": cell, "local_date": monday, "offense": "burglary"} for _ in range(count)
            )
        rows.append({"h3_r8": QUIET, "local_date": monday, "offense": "theft"})
    table = pa.Table.from_pylist(
        rows,
        schema=pa.schema(
            [("h3_r8", pa.string()), ("local_date", pa.date32()), ("offense", pa.string())]
        ),
    )
    # Sunday of the last week, so that the final week is complete.
    last_sunday = FIRST_WEEK + timedelta(weeks=len(kinds), days=-1)
    table = pa.concat_tables(
        [
            table,
            pa.Table.from_pylist(
                [{"h3_r8": QUIET, "local_date": last_sunday, "offense": "theft"}],
                schema=table.schema,
            ),
        ]
    )
    write_deltalake(str(profile.table_path("silver", "test_crime")), table)


def test_gold_table_round_trip(tmp_profile):
    write_silver(tmp_profile, ["decoy"] * 9 + ["centre"])
    computed_at = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    rows = analyse_target(tmp_profile, target_config(["burglary"]), 1, 0.05, computed_at)
    # Study cells are the cells with a burglary: the two disks.
    assert len(rows) == 14
    write_hotspots(tmp_profile, rows, "test_burglary")
    write_hotspots(tmp_profile, rows.assign(target="other_target"), "other_target")
    write_hotspots(tmp_profile, rows, "test_burglary")

    table = DeltaTable(str(tmp_profile.table_path("gold", "emerging_hotspots")))
    assert table.schema().to_arrow().names == GOLD_EMERGING_HOTSPOTS.names
    stored = read_hotspots(tmp_profile, "test_burglary").set_index("h3_cell")
    assert len(stored) == 14
    assert len(read_hotspots(tmp_profile, "other_target")) == 14
    # With only the two disks in the study area, each disk is half of it: the centre is
    # z = (0 - 7*7/14) / (0.5 * sqrt((14*7 - 49)/13)) = -3.6 (cold) in the decoy weeks and
    # +3.6 (hot) in the final week, and the decoy the other way round.
    assert stored.loc[CENTRE, "pattern"] == "oscillating_hot_spot"
    assert stored.loc[CENTRE, "cold_weeks"] == 9
    assert stored.loc[CENTRE, "last_gi_z"] == pytest.approx(3.606, abs=0.001)
    assert stored.loc[DECOY, "pattern"] == "oscillating_cold_spot"
    assert stored.loc[CENTRE, "weeks"] == 10
    assert stored.loc[CENTRE, "last_week"] == FIRST_WEEK + timedelta(weeks=9)


def test_all_offences_widen_study_area(tmp_profile):
    write_silver(tmp_profile, ["decoy"] * 9 + ["centre"])
    rows = analyse_target(tmp_profile, target_config("all"), 1, 0.05, datetime.now(UTC))
    # The thefts add the quiet cell to the study area.
    assert len(rows) == 15
    assert QUIET in set(rows["h3_cell"])


def test_missing_offence_is_rejected(tmp_profile):
    write_silver(tmp_profile, ["centre"] * 3)
    with pytest.raises(PanelError, match=r"offences \['arson'\]"):
        analyse_target(tmp_profile, target_config(["arson"]), 1, 0.05, datetime.now(UTC))


def test_write_hotspots_rejects_quote(tmp_profile):
    with pytest.raises(ValueError, match="invalid target name"):
        write_hotspots(tmp_profile, pd.DataFrame(), "x' or '1'='1")


def test_cli_rejects_unknown_target():
    import argparse

    from jobs.hotspots.cli import run

    args = argparse.Namespace(target=["no_such_target"], k_ring=1, alpha=0.05)
    assert run(args) == 2


def region_target() -> TargetConfig:
    return target_config(["burglary"]).model_copy(
        update={"unit": "region", "h3_resolution": None, "region_column": "region_code"}
    )


def test_region_target_is_rejected(tmp_profile):
    write_silver(tmp_profile, ["centre"] * 3)
    with pytest.raises(PanelError, match="defined on H3 cells x weeks"):
        analyse_target(tmp_profile, region_target(), 1, 0.05, datetime.now(UTC))


def test_cli_skips_region_target(tmp_profile, monkeypatch, caplog):
    import argparse
    import logging

    import yaml

    from jobs.hotspots.cli import run
    from jobs.settings import PROJECT_ROOT

    path = tmp_profile.var / "profile.yaml"
    data = tmp_profile.model_dump(mode="json")
    data["forecasts_file"] = str(PROJECT_ROOT / "conf" / "kz" / "forecasts.yml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.setenv("BOLJAM_PROFILE_FILE", str(path))

    args = argparse.Namespace(target=["kz_fraud_region"], k_ring=1, alpha=0.05)
    with caplog.at_level(logging.INFO, logger="jobs.hotspots.cli"):
        assert run(args) == 0
    assert "skipped the emerging hot spots of target kz_fraud_region" in caplog.text
    assert not (tmp_profile.table_path("gold", "emerging_hotspots") / "_delta_log").exists()


def test_resolution_6_uses_parents_of_r7(tmp_profile):
    # Two resolution-7 children of one resolution-6 cell, and one child of a neighbour.
    parent = h3.latlng_to_cell(43.24, 76.89, 6)
    neighbour = sorted(h3.grid_ring(parent, 1))[0]
    children = sorted(h3.cell_to_children(parent, 7))[:2]
    other = sorted(h3.cell_to_children(neighbour, 7))[0]
    monday = FIRST_WEEK
    rows = []
    for week in range(3):
        day = monday + timedelta(weeks=week)
        rows += [{"h3_r7": children[0], "local_date": day, "offense": "burglary"}] * 2
        rows += [{"h3_r7": children[1], "local_date": day, "offense": "burglary"}]
        rows += [{"h3_r7": other, "local_date": day, "offense": "burglary"}]
    rows.append(
        {"h3_r7": other, "local_date": monday + timedelta(weeks=3, days=-1), "offense": "theft"}
    )
    schema = pa.schema(
        [("h3_r7", pa.string()), ("local_date", pa.date32()), ("offense", pa.string())]
    )
    write_deltalake(
        str(tmp_profile.table_path("silver", "test_crime")),
        pa.Table.from_pylist(rows, schema=schema),
    )
    target = target_config(["burglary"]).model_copy(update={"h3_resolution": 6, "period": "day"})

    result = analyse_target(tmp_profile, target, 1, 0.05, datetime.now(UTC))

    assert sorted(result["h3_cell"]) == sorted([parent, neighbour])
    assert set(result["weeks"]) == {3}
