"""``boljam appeals``: triage the appeals and tag the media items into silver and gold tables.

Two steps, which the ``boljam_transform`` DAG runs as separate tasks before dbt:

- ``triage_appeals`` writes silver ``appeals``. Category and urgency come from out-of-fold
  predictions of the configured variant, so that no appeal is scored by a model that saw
  its label. Duplicate flags use the ``earlier_max`` detector on the Russian text with its
  threshold fit on all appeals. Each model is an MLflow run with its cross-validated
  metrics in the experiment ``boljam-text``. The category and urgency models, refit on all
  appeals, are registered as ``boljam-text-<task>-<language>``.
- ``tag_media`` writes silver ``media_items`` and gold ``emerging_terms``. The threat
  classifier that it fits on the lexicon labels is an MLflow run with its cross-validated
  agreement with those labels, registered as ``boljam-text-media-threats``.

Both read the silver tables that the ingestion lands (``citizen_appeals``,
``media_headlines``, ``media_articles``), or the dump files with ``--input dumps``.
"""

from __future__ import annotations

import argparse
import logging

logger = logging.getLogger(__name__)

DEFAULT_VARIANT = "char_word_svm"
DEFAULT_LANGUAGE = "both"
INPUTS = ("silver", "dumps")
STEPS = ("appeals", "media")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--variant",
        default=DEFAULT_VARIANT,
        help=f"triage variant for the predicted category and urgency; default {DEFAULT_VARIANT}",
    )
    parser.add_argument(
        "--language",
        default=DEFAULT_LANGUAGE,
        choices=["kk", "ru", "both"],
        help=f"appeal text the triage variant reads; default {DEFAULT_LANGUAGE}",
    )
    parser.add_argument(
        "--input",
        default="silver",
        choices=INPUTS,
        help="read the landed silver tables (default) or the dump files in real_data_dir",
    )
    parser.add_argument(
        "--steps",
        default=",".join(STEPS),
        help="comma-separated steps to run: appeals, media; default both",
    )


def run(args: argparse.Namespace) -> int:
    from jobs.settings import load_profile
    from jobs.text.config import load_text_settings

    profile = load_profile()
    settings = load_text_settings()
    steps = [step.strip() for step in args.steps.split(",") if step.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        raise ValueError(f"unknown steps {unknown}; use {', '.join(STEPS)}")
    if "appeals" in steps:
        triage_appeals(profile, settings, args.input, args.variant, args.language)
    if "media" in steps:
        tag_media(profile, settings, args.input)
    return 0


def triage_appeals(
    profile,
    settings: dict,
    source: str = "silver",
    variant: str = DEFAULT_VARIANT,
    language: str = DEFAULT_LANGUAGE,
) -> dict:
    """Classify, link and place every appeal into silver ``appeals`` and log the models.

    Returns the table version and the MLflow run id of each model.
    """
    import numpy as np

    from jobs.text.duplicates import (
        best_threshold,
        evaluate_earlier_max,
        link_to_earlier,
        similarity_matrix,
    )
    from jobs.text.gazetteer import load_gazetteer
    from jobs.text.tables import build_appeals, read_appeals, read_appeals_silver, write_table
    from jobs.text.tracking import log_model_run, start_tracking
    from jobs.text.triage import cross_validate_variant, fit_variant

    if source not in INPUTS:
        raise ValueError(f"invalid input {source!r}; use one of {INPUTS}")
    frame = (
        read_appeals_silver(profile)
        if source == "silver"
        else read_appeals(profile.real_data, settings)
    )
    gazetteer = load_gazetteer(settings, profile.real_data)
    folds = settings["cross_validation"]["folds"]
    seed = settings["cross_validation"]["seed"]
    experiment_id = start_tracking(profile)
    common = {"variant": variant, "language": language, "folds": folds, "seed": seed,
              "input": source, "appeals": len(frame)}  # fmt: skip

    predictions, run_ids = {}, {}
    for target in ("category", "urgency"):
        metrics, predicted = cross_validate_variant(frame, target, variant, language, folds, seed)
        predictions[target] = predicted
        run_ids[target] = log_model_run(
            experiment_id,
            f"{target}:{variant}:{language}:pipeline",
            {"task": target, **common},
            metrics,
            fit_variant(frame, target, variant, language),
            f"boljam-text-{target}-{language}",
            tags={"step": "triage_appeals"},
            champion_metric="macro_f1",
        )

    similarity = similarity_matrix(frame.text_ru.tolist())
    truth = frame.duplicate.to_numpy()
    linked, score = link_to_earlier(similarity, frame.region.tolist())
    threshold = best_threshold(truth, np.tril(similarity, -1).max(axis=1))
    # NOTE: the duplicate detector is a similarity threshold, so the run records the
    # threshold and its cross-validated figures but registers no model.
    run_ids["duplicates"] = log_model_run(
        experiment_id,
        "duplicates:earlier_max:ru:pipeline",
        {"task": "duplicates", "variant": "earlier_max", "threshold": threshold,
         **{key: value for key, value in common.items() if key != "variant"}, "language": "ru"},
        evaluate_earlier_max(similarity, truth, folds, seed),
        tags={"step": "triage_appeals"},
    )  # fmt: skip
    flagged = score >= threshold
    appeals = build_appeals(frame, gazetteer, settings, predictions, (linked, score, flagged))
    version = write_table(appeals, profile.table_path("silver", "appeals"))
    return {"silver.appeals": version, "run_ids": run_ids}


def tag_media(profile, settings: dict, source: str = "silver") -> dict:
    """Tag media items by threat class and place, and find the emerging terms.

    Writes silver ``media_items`` and gold ``emerging_terms`` and returns their versions.
    """
    from jobs.text.gazetteer import load_gazetteer
    from jobs.text.media import evaluate_threat_model, fit_threat_model
    from jobs.text.tables import (
        build_emerging,
        build_media,
        media_texts,
        read_media,
        read_media_silver,
        write_table,
    )
    from jobs.text.tracking import log_model_run, start_tracking

    if source not in INPUTS:
        raise ValueError(f"invalid input {source!r}; use one of {INPUTS}")
    gazetteer = load_gazetteer(settings, profile.real_data)
    items = (
        read_media_silver(profile, settings)
        if source == "silver"
        else read_media(profile.real_data, settings)
    )
    texts = media_texts(items)
    threat_model = fit_threat_model(texts)
    if threat_model is not None:
        folds = settings["cross_validation"]["folds"]
        seed = settings["cross_validation"]["seed"]
        log_model_run(
            start_tracking(profile),
            "media_threats:char35_lr:pipeline",
            {"task": "media_threats", "variant": "char35_lr", "folds": folds, "seed": seed,
             "input": source, "items": len(texts)},
            evaluate_threat_model(texts, folds, seed),
            threat_model,
            "boljam-text-media-threats",
            tags={"step": "tag_media"},
            champion_metric="weak_macro_f1",
        )  # fmt: skip
    media = build_media(items, gazetteer, threat_model)
    return {
        "silver.media_items": write_table(media, profile.table_path("silver", "media_items")),
        "gold.emerging_terms": write_table(
            build_emerging(media, settings), profile.table_path("gold", "emerging_terms")
        ),
    }
