"""``boljam hotspots``: write the emerging hot spots of forecast targets to the gold layer."""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime

logger = logging.getLogger(__name__)

DEFAULT_K_RING = 1
DEFAULT_ALPHA = 0.05


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        action="append",
        help="forecast target from conf/forecasts.yml; repeat for several; default all targets",
    )
    parser.add_argument(
        "--k-ring",
        type=int,
        default=DEFAULT_K_RING,
        help=f"H3 rings around a cell that form its Gi* neighbourhood; default {DEFAULT_K_RING}",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=DEFAULT_ALPHA,
        help=f"significance level of Gi* and Mann-Kendall tests; default {DEFAULT_ALPHA}",
    )


def run(args: argparse.Namespace) -> int:
    from jobs.hotspots.job import skip_reason
    from jobs.settings import load_profile
    from models.panel import PanelError
    from models.targets import load_targets

    targets = load_targets()
    names = args.target or list(targets)
    unknown = sorted(set(names) - set(targets))
    if unknown:
        logger.error("unknown targets %s; conf/forecasts.yml has %s", unknown, sorted(targets))
        return 2
    failed = 0
    for name in names:
        reason = skip_reason(targets[name])
        if reason is not None:
            logger.info("skipped the emerging hot spots of target %s: %s", name, reason)
            continue
        try:
            write_target(name, args.k_ring, args.alpha, load_profile(), targets[name])
        except PanelError as error:
            logger.error("emerging hot spots of target %s failed: %s", name, error)
            failed += 1
    return 1 if failed else 0


def write_target(name, k_ring, alpha, profile, target) -> int:
    """Analyse one target and replace its rows in the gold table; return the row count."""
    from jobs.hotspots.job import analyse_target, write_hotspots

    rows = analyse_target(profile, target, k_ring, alpha, datetime.now(UTC))
    write_hotspots(profile, rows, name)
    return len(rows)
