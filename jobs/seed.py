"""Load the real data sets into one SQLite database per agency, and the dumps into landing.

The agency databases stand in for the systems the center lands from: each gets a typed
table with an integer primary key assigned in file order, as a registry would hold it.
The citizen-complaint and headline dumps stay files and are copied into the landing folder.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path

from jobs.settings import Profile, load_profile

logger = logging.getLogger(__name__)

# Landing sub-folder -> real data file copied there unchanged.
DUMPS = {
    "complaints": "kz_citizen_complaints.csv.gz",
    "headlines": "tengrinews_headlines_2025.csv.gz",
    "articles": "media_article_kk_2025-12-13.txt",
    "districts": "portland_police_districts.zip",
}


class SeedError(RuntimeError):
    """A real data file is missing or has an unexpected shape."""


def _require(path: Path) -> Path:
    if not path.exists():
        raise SeedError(
            f"real data file not found: {path}; set BOLJAM_REAL_DATA to the folder that holds it"
        )
    return path


def _write_table(db_path: Path, table: str, key: str, frame, sample_every: int) -> int:
    """Replace ``table`` in ``db_path`` with every ``sample_every``-th row of ``frame``.

    A source without a key column gets an integer primary key ``key`` in file order.
    """
    frame = frame.iloc[::sample_every].reset_index(drop=True)
    if key not in frame.columns:
        frame.insert(0, key, range(1, len(frame) + 1))
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db_path) as connection:
        connection.execute(f"drop table if exists {table}")
        columns = ", ".join(
            f'"{name}" integer primary key' if name == key else f'"{name}"'
            for name in frame.columns
        )
        connection.execute(f"create table {table} ({columns})")
        placeholders = ", ".join("?" for _ in frame.columns)
        rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
        connection.executemany(f"insert into {table} values ({placeholders})", rows)
    logger.info("seeded %s rows into %s table %s", len(frame), db_path.name, table)
    return len(frame)


def seed_houston(real: Path, out: Path, sample_every: int = 1) -> int:
    import pandas as pd

    frame = pd.read_csv(_require(real / "houston_crime_2010.csv.gz"), dtype=str)
    frame["hour"] = pd.to_numeric(frame["hour"], errors="coerce").astype("Int64")
    for column in ("lon", "lat"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    database = out / "houston_police.sqlite"
    return _write_table(database, "offenses", "offense_id", frame, sample_every)


def seed_portland(real: Path, out: Path, sample_every: int = 1) -> int:
    import pandas as pd
    import pyogrio

    frames = []
    for month, stem in (("08", "NIJ2016_AUG01_AUG31"), ("09", "NIJ2016_SEP01_SEP30")):
        archive = _require(real / f"portland_cfs_2016_{month}.zip")
        frames.append(pyogrio.read_dataframe(f"zip://{archive}!{stem}.shp", read_geometry=False))
    frame = pd.concat(frames, ignore_index=True)
    # Shapefile field names are cut to 10 characters; the agency table uses the full names.
    frame = frame.rename(
        columns={
            "CATEGORY": "category",
            "CALL_GROUP": "call_group",
            "final_case": "final_case_type",
            "CASE_DESC": "case_desc",
            "x_coordina": "x_coordinate",
            "y_coordina": "y_coordinate",
            "census_tra": "census_tract",
        }
    )
    frame["occ_date"] = pd.to_datetime(frame["occ_date"]).dt.strftime("%Y-%m-%d")
    database = out / "portland_112.sqlite"
    return _write_table(database, "calls_for_service", "call_id", frame, sample_every)


def seed_edinburgh(real: Path, out: Path, sample_every: int = 1) -> int:
    import pandas as pd

    frame = pd.read_csv(_require(real / "edinburgh_accidents_2010_2013.csv.gz"), dtype=str)
    frame = frame.assign(
        acc_ref=pd.to_numeric(frame["acc_ref"], errors="raise").astype("int64"),
        latitude=pd.to_numeric(frame["latitude"], errors="coerce"),
        longitude=pd.to_numeric(frame["longitude"], errors="coerce"),
    )
    return _write_table(out / "edinburgh_roads.sqlite", "accidents", "acc_ref", frame, sample_every)


def copy_dumps(real: Path, landing: Path) -> list[Path]:
    copied = []
    for folder, name in DUMPS.items():
        target = landing / folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_require(real / name), target)
        copied.append(target)
    logger.info("copied %s dump files into %s", len(copied), landing)
    return copied


def seed_all(profile: Profile | None = None, sample_every: int = 1) -> dict[str, int]:
    """Seed every agency database and the landing folder; return rows per source."""
    profile = profile or load_profile()
    real, out = profile.real_data, profile.agency_dbs
    counts = {
        "houston_crime": seed_houston(real, out, sample_every),
        "portland_calls": seed_portland(real, out, sample_every),
        "edinburgh_accidents": seed_edinburgh(real, out, sample_every),
    }
    copy_dumps(real, profile.landing)
    return counts


def add_arguments(parser) -> None:
    parser.add_argument(
        "--sample-every",
        type=int,
        default=1,
        help="keep every K-th row of each data set, for quick runs (default: 1, all rows)",
    )


def run(args) -> int:
    counts = seed_all(sample_every=args.sample_every)
    for source, rows in counts.items():
        logger.info("%s: %s rows", source, rows)
    return 0
