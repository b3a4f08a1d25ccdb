"""The main job: seed the agency databases, then run the pipeline's DAGs through Airflow.

Each DAG runs with ``airflow dags test`` against the project-local Airflow home, in the
order their assets link them: ingest -> transform -> forecast -> report. The run ends with
var/demo/summary.json.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from datetime import UTC, datetime

from jobs.airflow_env import airflow_env, migrate, test_dag
from jobs.seed import seed_all
from jobs.settings import Profile, load_profile
from jobs.summary import human_summary, write_summary

logger = logging.getLogger(__name__)

PIPELINE = ("boljam_ingest", "boljam_transform", "boljam_forecast", "boljam_report")
# DAGs whose tasks are per forecast target and honour {"targets": [...]} in the run conf.
TARGETED_DAGS = ("boljam_forecast", "boljam_report")
# One target per city keeps `make demo` within about ten minutes on two cores; the rest of
# conf/forecasts.yml runs with `boljam demo --targets ...` or on the schedule.
DEMO_TARGETS = ["houston_all_offences", "portland_street_crimes", "edinburgh_road_accidents"]


def synthesise(profile: Profile) -> dict[str, int]:
    """Generate the profile's synthetic country unless the same one is already there.

    The seed, incident count and the parameter file's SHA-256 are kept in
    ``<var>/demo/synth_parameters.json``. When they change, the country is generated
    again and the profile's lake is removed, because its watermarks and rows belong to the
    old country. Returns the rows per agency table.
    """
    from jobs.synth.cli import generate
    from jobs.synth.config import DEFAULT_PATH

    spec = profile.synth
    out = profile.path(spec.out_dir)
    config = profile.path(spec.config) if spec.config else DEFAULT_PATH
    parameters = {
        "seed": spec.seed,
        "incidents": spec.incidents,
        "config_sha256": hashlib.sha256(config.read_bytes()).hexdigest(),
    }
    marker = profile.var / "demo" / "synth_parameters.json"
    manifest_path = out / "manifest.json"
    if manifest_path.exists() and marker.exists() and json.loads(marker.read_text()) == parameters:
        logger.info("synthetic country in %s already has %s; not generated again", out, parameters)
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    else:
        for stale in (out, profile.lake):
            if stale.exists():
                logger.warning("removing %s, made from other synth parameters", stale)
                shutil.rmtree(stale)
        began = time.monotonic()
        manifest = generate(spec.seed, spec.incidents, out, settings_path=config)
        logger.info("generated %s in %.1f s", out, time.monotonic() - began)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(parameters, indent=2) + "\n", encoding="utf-8")
    return {
        f"{database}.{table}": rows
        for database, tables in manifest["rows"].items()
        for table, rows in tables.items()
    }


def run_pipeline(
    sample_every: int = 1,
    dags: tuple[str, ...] = PIPELINE,
    targets: list[str] | None = None,
) -> dict:
    """Seed, run every DAG of ``dags`` once, and write the summary; return the summary.

    A profile with a ``synth`` section generates its synthetic country in place of seeding
    the real data. ``targets`` limits the forecast and report DAGs to those forecast
    targets (all when None); the other target tasks end as skipped.
    """
    profile = load_profile()
    started = time.monotonic()
    if profile.synth is not None:
        seeded = synthesise(profile)
    else:
        seeded = seed_all(profile, sample_every=sample_every)
    env = airflow_env(profile)
    migrate(env)
    logical_date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    durations = {}
    for dag_id in dags:
        began = time.monotonic()
        conf = {"targets": targets} if targets and dag_id in TARGETED_DAGS else None
        log_path = profile.var / "demo" / "logs" / f"{dag_id}.log"
        test_dag(dag_id, logical_date, env, log_path, conf)
        durations[dag_id] = round(time.monotonic() - began, 1)
        logger.info("DAG %s succeeded in %.1f s", dag_id, durations[dag_id])
    extra = {}
    if profile.synth is not None and "boljam_forecast" in dags:
        extra["oracle"] = compare_oracle_targets(profile, targets)
    return write_summary(
        profile,
        seeded=seeded,
        dag_seconds=durations,
        total_seconds=round(time.monotonic() - started, 1),
        **extra,
    )


def compare_oracle_targets(profile: Profile, targets: list[str] | None) -> dict[str, dict]:
    """Return the oracle's and the model's PEI* of each forecast oracle target of the profile."""
    from jobs.oracle import compare_with_oracle

    out = profile.path(profile.synth.out_dir)
    results = {}
    for target, truth in profile.synth.oracle_targets.items():
        if targets is not None and target not in targets:
            continue
        result = compare_with_oracle(target, profile, truth_path=out / truth)
        results[target] = result["metrics"] | {"run_id": result["run_id"]}
        logger.info("oracle comparison of %s: %s", target, result["metrics"])
    return results


def add_arguments(parser) -> None:
    parser.add_argument(
        "--sample-every",
        type=int,
        default=1,
        help="seed every K-th row of each real data set (default: 1, all rows)",
    )
    parser.add_argument(
        "--targets",
        nargs="+",
        default=None,
        help="forecast targets to run (default: the profile's demo_targets, else "
        f"{' '.join(DEMO_TARGETS)})",
    )


def run(args) -> int:
    profile = load_profile()
    targets = args.targets or profile.demo_targets or DEMO_TARGETS
    summary = run_pipeline(sample_every=args.sample_every, targets=targets)
    print("\n".join(human_summary(summary)))
    for target, figures in summary.get("oracle", {}).items():
        print(
            f"oracle {target}: model PEI* 1% {figures['model_pei_star_1pct']:.3f}, oracle "
            f"{figures['oracle_pei_star_1pct']:.3f}, model/oracle "
            f"{figures['model_over_oracle_pei_star_1pct']:.3f}"
        )
    summary_path = profile.var / "demo" / "summary.json"
    print(f"demo finished in {summary['total_seconds']} s; summary in {summary_path}")
    return 0
