"""Ground truth written beside the data: expected counts per H3 cell and week, planted items.

The expected counts follow from the model parameters, not from the generated rows:

- crime type k: mass_k(cell) x E_k(week), where E_k solves the near-repeat recursion
  (offspring stay in their parent's cell, so space and time separate exactly);
- street_crime: the sum over the types marked street in conf/synth.yaml;
- calls_112: background calls plus call_probability_per_crime x all crime;
- road_accidents: road_scale x road-point weight of the cell x sum over the week's days
  of day weight x weather multiplier of the cell's region;
- fraud (H3 resolution 6): regular incidents by population mass plus the emerging
  scheme in its planted regions.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from jobs.synth import world as w
from jobs.synth.processes import FraudModel
from jobs.synth.temporal import day_weights, weekly_sums


def _week_starts(world: w.World) -> np.ndarray:
    return world.calendar.dates[::7]


def crime_weekly(world: w.World) -> np.ndarray:
    """Expected events per crime type and week (types x weeks)."""
    return np.array([weekly_sums(hourly) for hourly in world.crime.expected_hourly])


def street_crime_expected(world: w.World) -> np.ndarray:
    weekly = crime_weekly(world)
    street = [world.settings.crime.types[n].street for n in world.crime.names]
    return sum(np.outer(world.crime.mass[k], weekly[k]) for k in range(len(street)) if street[k])


def calls_expected(world: w.World) -> np.ndarray:
    settings = world.settings.calls_112
    day_weight = day_weights(
        world.calendar, world.settings.calendar.weekday_factors, settings.holiday_factor
    )
    background = np.outer(
        world.population_mass,
        world.counts["calls_112_background"] * day_weight.reshape(-1, 7).sum(axis=1),
    )
    weekly = crime_weekly(world)
    crime = sum(np.outer(world.crime.mass[k], weekly[k]) for k in range(len(weekly)))
    return background + settings.call_probability_per_crime * crime


def road_expected(world: w.World) -> np.ndarray:
    roads = world.roads
    day_weight = day_weights(
        world.calendar, world.settings.calendar.weekday_factors, world.settings.road.holiday_factor
    )
    per_region_week = (
        (day_weight[None, :] * world.weather_factor)
        .reshape(len(world.region_codes), -1, 7)
        .sum(axis=2)
    )
    cell_weight = np.bincount(roads.cell_index, weights=roads.weight, minlength=len(roads.grid))
    cell_region = np.zeros(len(roads.grid), dtype=np.int64)
    cell_region[roads.cell_index] = world.road_region
    return world.road_scale * cell_weight[:, None] * per_region_week[cell_region]


def fraud_expected_r8(world: w.World, model: FraudModel) -> np.ndarray:
    """Expected fraud incidents per street cell (resolution 8) and week."""
    region_mass = model.region_mass[world.grid_region]
    within_region = np.divide(
        world.population_mass, region_mass, out=np.zeros_like(region_mass), where=region_mass > 0
    )
    regular = model.regular_weekly()[world.grid_region] * within_region[:, None]
    emerging = model.emerging_weekly[world.grid_region] * within_region[:, None]
    return regular + emerging


def _write_intensity(path: Path, target: str, resolution: int, cells, expected, week_starts):
    import pyarrow as pa
    import pyarrow.parquet as pq

    cell_count, week_count = expected.shape
    rows = cell_count * week_count
    table = pa.table(
        {
            "target": pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(rows, np.int32)), pa.array([target], pa.string())
            ),
            "h3_cell": pa.array(list(cells), pa.string()).take(
                np.repeat(np.arange(cell_count), week_count)
            ),
            "h3_resolution": pa.array(np.full(cell_count * week_count, resolution, np.int8)),
            "week_start": pa.array(np.tile(week_starts, cell_count).astype("datetime64[D]")),
            "expected_count": pa.array(expected.ravel()),
        }
    )
    pq.write_table(table, path, compression="zstd")


def write_intensity(world: w.World, out: Path) -> dict[str, float]:
    """Write truth/intensity_<target>.parquet and return the expected total per target."""
    import h3

    truth = out / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    weeks = _week_starts(world)
    totals = {}
    targets = {
        "street_crime": (world.grid.cells, street_crime_expected(world)),
        "calls_112": (world.grid.cells, calls_expected(world)),
        "road_accidents": (world.roads.grid.cells, road_expected(world)),
    }
    for target, (cells, expected) in targets.items():
        _write_intensity(truth / f"intensity_{target}.parquet", target, 8, cells, expected, weeks)
        totals[target] = float(expected.sum())

    model = FraudModel(world)
    fraud_r8 = fraud_expected_r8(world, model)
    parents = np.array([h3.cell_to_parent(c, w.H3_FRAUD_RESOLUTION) for c in world.grid.cells])
    fraud_cells, inverse = np.unique(parents, return_inverse=True)
    fraud_r6 = np.zeros((len(fraud_cells), fraud_r8.shape[1]))
    np.add.at(fraud_r6, inverse, fraud_r8)
    _write_intensity(truth / "intensity_fraud.parquet", "fraud", 6, fraud_cells, fraud_r6, weeks)
    totals["fraud"] = float(fraud_r6.sum())

    # Per crime type, factorised: expected(cell, week) = mass(cell) x weekly_total(week).
    import pyarrow as pa
    import pyarrow.parquet as pq

    weekly = crime_weekly(world)
    names = world.crime.names
    pq.write_table(
        pa.table(
            {
                "crime_type": np.repeat(names, len(world.grid)).tolist(),
                "h3_cell": np.tile(world.grid.cells, len(names)).tolist(),
                "mass": world.crime.mass.ravel(),
            }
        ),
        truth / "crime_type_spatial_mass.parquet",
        compression="zstd",
    )
    pq.write_table(
        pa.table(
            {
                "crime_type": np.repeat(names, world.weeks).tolist(),
                "week_start": pa.array(np.tile(weeks, len(names)).astype("datetime64[D]")),
                "expected_total": weekly.ravel(),
            }
        ),
        truth / "crime_type_weekly_total.parquet",
        compression="zstd",
    )
    for k, name in enumerate(names):
        totals[f"crime_{name}"] = float(weekly[k].sum())

    # Emerging scheme and registration gap, per region.
    _write_csv(
        truth / "emerging_scheme.csv",
        ["region_code", "week_start", "scheme", "expected_count"],
        [
            (world.region_codes[r], str(weeks[k]), world.settings.fraud.emerging.scheme, f"{v:.6f}")
            for r in range(len(world.region_codes))
            for k, v in enumerate(model.emerging_weekly[r].tolist())
            if v > 0
        ],
    )
    regular = model.regular_weekly().sum(axis=1) + model.emerging_weekly.sum(axis=1)
    _write_csv(
        truth / "registration_gap.csv",
        ["region_code", "unregistered_share", "expected_fraud_incidents"],
        [
            (code, f"{model.gap[r]:.4f}", f"{regular[r]:.3f}")
            for r, code in enumerate(world.region_codes)
        ],
    )
    return totals


def _write_csv(path: Path, header: list[str], rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("# FAKE DATA: ground truth of a synthetic world generated by boljam synth\n")
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_planted(out: Path, planted: list[tuple]) -> int:
    """Write truth/planted.csv with one id per planted anomaly or violation."""
    rows = [(f"P{i + 1:08d}", *row) for i, row in enumerate(planted)]
    _write_csv(
        out / "truth" / "planted.csv",
        ["planted_id", "kind", "database", "table", "record_id", "detail"],
        rows,
    )
    return len(rows)
