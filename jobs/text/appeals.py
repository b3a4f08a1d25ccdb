"""``boljam appeals``: land the appeals and media dumps as silver and gold Delta tables.

Category and urgency come from out-of-fold predictions of the configured variant, so that
no appeal is scored by a model that saw its label. Duplicate flags use the ``earlier_max``
detector on the Russian text with its threshold fit on all appeals.
"""

from __future__ import annotations

import argparse
import logging

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--variant",
        default="char_word_svm",
        help="triage variant for the predicted category and urgency; default char_word_svm",
    )
    parser.add_argument(
        "--language",
        default="both",
        choices=["kk", "ru", "both"],
        help="appeal text the triage variant reads; default both",
    )


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from jobs.settings import load_profile
    from jobs.text.config import load_text_settings
    from jobs.text.duplicates import best_threshold, link_to_earlier, similarity_matrix
    from jobs.text.gazetteer import load_gazetteer
    from jobs.text.tables import (
        build_appeals,
        build_appeals_weekly,
        build_emerging,
        build_media,
        build_media_weekly,
        read_appeals,
        read_media,
        write_table,
    )
    from jobs.text.triage import cross_validate_variant

    profile = load_profile()
    settings = load_text_settings()
    gazetteer = load_gazetteer(settings, profile.real_data)
    frame = read_appeals(profile.real_data, settings)
    folds = settings["cross_validation"]["folds"]
    seed = settings["cross_validation"]["seed"]

    predictions = {}
    for target in ("category", "urgency"):
        _, predicted = cross_validate_variant(
            frame, target, args.variant, args.language, folds, seed
        )
        predictions[target] = predicted
    similarity = similarity_matrix(frame.text_ru.tolist())
    linked, score = link_to_earlier(similarity, frame.region.tolist())
    threshold = best_threshold(frame.duplicate.to_numpy(), np.tril(similarity, -1).max(axis=1))
    flagged = score >= threshold
    appeals = build_appeals(frame, gazetteer, settings, predictions, (linked, score, flagged))
    media = build_media(read_media(profile.real_data, settings), gazetteer)

    tables = {
        ("silver", "appeals"): appeals,
        ("silver", "media_items"): media,
        ("gold", "appeals_weekly"): build_appeals_weekly(appeals),
        ("gold", "media_signals_weekly"): build_media_weekly(media),
        ("gold", "emerging_terms"): build_emerging(media, settings),
    }
    for (layer, name), table in tables.items():
        write_table(table, profile.table_path(layer, name))
    return 0
