"""``boljam synth``: generate a seeded synthetic Kazakhstan with its ground truth.

Output folder layout::

    agencies/<name>.sqlite   one database per agency (crime_registry, calls_112, road_police,
                             admin_offences, probation, bank_fraud, operator_fraud, precursors)
    dumps/                   weather_daily.csv, roads.geojson, gazetteer.csv,
                             regions/kz_regions_2022.geojson (generated region outlines)
    truth/                   expected counts per H3 cell and week, fraud incidents, planted items
    manifest.json            row counts, expected totals and the SHA-256 of every file

With ``--database-url postgresql://...`` the agency databases are written as schemas of
that PostgreSQL database (one schema per agency, named as above) instead of SQLite files.
Point the kz source catalogue at them with the variables of
``postgres_out.catalogue_environment``.

The writers run in two groups of processes (``--jobs``). Each group builds the same world
from the seed and regenerates the events it needs, so the files do not depend on the
number of processes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

logger = logging.getLogger(__name__)

# Writer groups balanced by rows: the registry gets about 0.8 row per incident, the
# second group about 0.9.
GROUPS = (
    ("crime_registry", "probation", "precursors", "truth"),
    ("calls_112", "road_police", "admin_offences", "fraud_feeds", "dumps"),
)


def _run_group(names, seed, incidents, out, settings_path, real_dir, database_url=None) -> dict:
    from jobs.synth import case_sources, dumps, incident_sources, truth
    from jobs.synth.config import load_synth_settings
    from jobs.synth.world import build_world

    settings = load_synth_settings(settings_path)
    world = build_world(seed, incidents, settings, real_dir)
    result = {"rows": {}, "planted": [], "expected_totals": {}, "dumps": {}}
    for name in names:
        logger.info("writing %s", name)
        if name == "crime_registry":
            result["rows"].update(incident_sources.write_crime_registry(world, out, database_url))
        elif name == "calls_112":
            result["rows"].update(incident_sources.write_calls(world, out, database_url))
        elif name == "road_police":
            result["rows"].update(incident_sources.write_road_police(world, out, database_url))
        elif name == "fraud_feeds":
            result["rows"].update(incident_sources.write_fraud_feeds(world, out, database_url))
        elif name in ("admin_offences", "probation", "precursors"):
            writer = {
                "admin_offences": case_sources.write_admin_offences,
                "probation": case_sources.write_probation,
                "precursors": case_sources.write_precursors,
            }[name]
            rows, planted = writer(world, out, database_url)
            result["rows"].update(rows)
            result["planted"].extend(planted)
        elif name == "truth":
            result["expected_totals"] = truth.write_intensity(world, out)
        elif name == "dumps":
            result["dumps"] = dumps.write_dumps(world, out)
        else:
            raise ValueError(f"unknown writer {name!r}")
    return result


PLANTED_ORDER = (
    "penalty_above_maximum",
    "decision_after_limitation",
    "duplicate_penalty",
    "missed_without_warning",
    "checkin_after_sentence_end",
    "volume_spike",
    "movement_without_licence",
)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def generate(
    seed: int,
    incidents: int,
    out: Path,
    jobs: int = 2,
    settings_path: Path | None = None,
    real_dir: Path | None = None,
    database_url: str | None = None,
) -> dict:
    """Generate the synthetic world into ``out`` and return the manifest.

    With ``database_url`` (postgresql://...) the agency databases become schemas of that
    PostgreSQL database instead of files under ``out/agencies``.
    """
    from jobs.synth import truth
    from jobs.synth.postgres_out import check_url

    if database_url:
        check_url(database_url)

    if real_dir is None:
        from jobs.settings import load_profile

        real_dir = load_profile().real_data
    out.mkdir(parents=True, exist_ok=True)
    arguments = [
        (names, seed, incidents, out, settings_path, real_dir, database_url) for names in GROUPS
    ]
    if jobs > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(GROUPS)), mp_context=context) as pool:
            results = list(pool.map(_run_group, *zip(*arguments, strict=True)))
    else:
        results = [_run_group(*a) for a in arguments]

    rows, totals, dump_rows, planted = {}, {}, {}, []
    for result in results:
        rows.update(result["rows"])
        totals.update(result["expected_totals"])
        dump_rows.update(result["dumps"])
        planted.extend(result["planted"])
    planted.sort(key=lambda row: (PLANTED_ORDER.index(row[0]), row[3]))
    truth.write_planted(out, planted)

    files = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name != "manifest.json"):
        relative = path.relative_to(out).as_posix()
        files[relative] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    planted_counts = {kind: sum(1 for row in planted if row[0] == kind) for kind in PLANTED_ORDER}
    manifest = {
        "generated_by": "boljam synth",
        "fake": True,
        "seed": seed,
        "incidents": incidents,
        "agency_output": "postgresql" if database_url else "sqlite",
        "rows": {db: dict(sorted(tables.items())) for db, tables in sorted(rows.items())},
        "dump_rows": dict(sorted(dump_rows.items())),
        "expected_totals": dict(sorted(totals.items())),
        "planted": planted_counts,
        "files": files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def add_arguments(parser) -> None:
    parser.add_argument("--seed", type=int, required=True, help="random seed (integer)")
    parser.add_argument(
        "--incidents",
        type=int,
        required=True,
        help="incidents to generate across crime, fraud and road accidents (e.g. 10000)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="writer processes, 1 or 2; default min(2, CPU count)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="parameter file; default conf/synth.yaml",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help=(
            "write the agency databases as schemas of this PostgreSQL database "
            "(postgresql://user@host:port/db) instead of SQLite files; default SQLite"
        ),
    )
    parser.add_argument(
        "--real-data",
        type=Path,
        default=None,
        help="folder with kz_places.csv.gz; default the profile's real_data_dir",
    )


def run(args) -> int:
    manifest = generate(
        args.seed,
        args.incidents,
        args.out,
        args.jobs,
        args.config,
        args.real_data,
        args.database_url,
    )
    logger.info(
        "synthetic world written to %s: %s rows in %s %s databases, %s planted items",
        args.out,
        sum(sum(t.values()) for t in manifest["rows"].values()),
        len(manifest["rows"]),
        manifest["agency_output"],
        sum(manifest["planted"].values()),
    )
    if args.database_url:
        from jobs.synth.postgres_out import catalogue_environment

        names = catalogue_environment(args.database_url, manifest["rows"])
        logger.info(
            "agency schemas %s written; set %s to the database URL with "
            "options=-csearch_path=<schema> to ingest them",
            ", ".join(manifest["rows"]),
            ", ".join(names),
        )
    return 0
