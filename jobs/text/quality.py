"""``boljam text-quality``: cross-validate the text models, log them to MLflow, write figures.

Writes ``var/text-quality.json`` as task -> language -> metric -> value; a run with
``--tasks`` replaces only the entries of those tasks. Each variant is an
MLflow run. The best variant of each task and language is refit on all appeals, logged with
its model and registered as ``boljam-text-<task>-<language>``. The new version takes the
``champion`` alias unless the champion's cross-validated figure is higher.
"""

from __future__ import annotations

import argparse
import json
import logging
import time

logger = logging.getLogger(__name__)

DEFAULT_VARIANTS = {
    "category": ["char_lr", "char_word_svm"],
    "urgency": [
        "char_lr",
        "char_word_svm",
        "char_word_keywords_svm",
        "char_word_svm_balanced",
        "char_word_region_svm",
    ],
}
LANGUAGES = ("kk", "ru", "both")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tasks",
        default="language_id,category,urgency,duplicates,places",
        help="comma-separated tasks to measure; default: all five",
    )
    parser.add_argument(
        "--variants",
        default=None,
        help="comma-separated triage variants for category and urgency; default: "
        + "; ".join(f"{task}: {','.join(names)}" for task, names in DEFAULT_VARIANTS.items()),
    )
    parser.add_argument(
        "--no-register", action="store_true", help="log runs without fitting and registering models"
    )
    parser.add_argument(
        "--output", default=None, help="figures file; default <profile var>/text-quality.json"
    )


def run(args: argparse.Namespace) -> int:
    from jobs.settings import load_profile
    from jobs.text.config import load_text_settings
    from jobs.text.tables import read_appeals
    from jobs.text.tracking import start_tracking

    profile = load_profile()
    settings = load_text_settings()
    frame = read_appeals(profile.real_data, settings)
    folds = settings["cross_validation"]["folds"]
    seed = settings["cross_validation"]["seed"]
    experiment_id = start_tracking(profile)
    register = not args.no_register
    tasks = [task.strip() for task in args.tasks.split(",") if task.strip()]
    figures: dict[str, dict] = {}
    started = time.monotonic()
    for task in tasks:
        if task == "language_id":
            figures[task] = measure_language_id(frame, folds, seed, experiment_id, register)
        elif task in ("category", "urgency"):
            variants = args.variants.split(",") if args.variants else DEFAULT_VARIANTS[task]
            figures[task] = measure_triage(
                frame, task, variants, folds, seed, experiment_id, register
            )
        elif task == "duplicates":
            figures[task] = measure_duplicates(frame, folds, seed, experiment_id, register)
        elif task == "places":
            figures[task] = measure_places(frame, settings, profile, experiment_id)
        else:
            raise ValueError(f"unknown task {task!r}; use language_id, category, urgency, ...")
    output = profile.var / "text-quality.json" if args.output is None else args.output
    from pathlib import Path

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    # Tasks measured in this run replace their entries; other tasks keep their last figures.
    previous = json.loads(output.read_text(encoding="utf-8")) if output.exists() else {}
    merged = previous | figures
    output.write_text(json.dumps(merged, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s after %.0f s", output, time.monotonic() - started)
    return 0


def measure_language_id(frame, folds, seed, experiment_id, register) -> dict:
    from jobs.text.langid import LanguageIdentifier, evaluate_language_id
    from jobs.text.tracking import log_model_run

    kk, ru = frame.text_kz.tolist(), frame.text_ru.tolist()
    metrics = evaluate_language_id(kk, ru, folds, seed)
    model = LanguageIdentifier().fit(kk, ru).pipeline if register else None
    log_model_run(
        experiment_id,
        "language_id:char14_nb",
        {"task": "language_id", "variant": "char14_nb", "folds": folds, "seed": seed},
        metrics,
        model,
        "boljam-text-language-id" if register else None,
        champion_metric="macro_f1",
    )
    return {"all": metrics}


def measure_triage(frame, task, variants, folds, seed, experiment_id, register) -> dict:
    from jobs.text.tracking import log_model_run
    from jobs.text.triage import cross_validate_variant, fit_variant

    figures: dict[str, dict] = {}
    for language in LANGUAGES:
        results = {}
        for variant in variants:
            metrics, _ = cross_validate_variant(frame, task, variant, language, folds, seed)
            results[variant] = metrics
            log_model_run(
                experiment_id,
                f"{task}:{variant}:{language}",
                {"task": task, "variant": variant, "language": language, "folds": folds,
                 "seed": seed},
                metrics,
            )  # fmt: skip
        best = max(results, key=lambda name: results[name]["macro_f1"])
        figures[language] = {
            "macro_f1": results[best]["macro_f1"],
            "accuracy": results[best]["accuracy"],
            "best_variant": best,
            **{f"macro_f1_{name}": values["macro_f1"] for name, values in results.items()},
        }
        if register:
            model = fit_variant(frame, task, best, language)
            log_model_run(
                experiment_id,
                f"{task}:{best}:{language}:final",
                {"task": task, "variant": best, "language": language, "fit": "all appeals"},
                results[best],
                model,
                f"boljam-text-{task}-{language}",
                champion_metric="macro_f1",
            )
    return figures


def measure_duplicates(frame, folds, seed, experiment_id, register) -> dict:
    """Measure the duplicate detectors on stratified folds and on folds grouped by text."""
    import pandas as pd

    from jobs.text.duplicates import (
        _gbm,
        evaluate_earlier_max,
        evaluate_pair_features,
        pair_features,
        similarity_matrix,
    )
    from jobs.text.tracking import log_model_run

    truth = frame.duplicate.to_numpy()
    # One group per distinct Russian text, so that grouped folds keep copies together.
    groups = pd.factorize(frame.text_ru)[0]
    figures: dict[str, dict] = {}

    def record(language, variant, metrics, grouped):
        suffix = f"{variant}_grouped" if grouped else variant
        figures.setdefault(language, {}).update(
            {f"{key}_{suffix}": value for key, value in metrics.items()}
        )
        params = {"task": "duplicates", "variant": variant, "language": language,
                  "folds": folds, "seed": seed, "grouped_by_text": grouped}  # fmt: skip
        log_model_run(experiment_id, f"duplicates:{suffix}:{language}", params, metrics)

    for language, column in (("kk", "text_kz"), ("ru", "text_ru")):
        similarity = similarity_matrix(frame[column].tolist())
        for grouped in (False, True):
            fold_groups = groups if grouped else None
            metrics = evaluate_earlier_max(similarity, truth, folds, seed, fold_groups)
            record(language, "earlier_max", metrics, grouped)
            metrics = evaluate_earlier_max(
                similarity, truth, folds, seed, fold_groups, twin_label=True
            )
            record(language, "twin_label", metrics, grouped)
        figures[language]["f1"] = figures[language]["f1_earlier_max"]

    texts = {"kk": frame.text_kz.tolist(), "ru": frame.text_ru.tolist()}
    variants = {
        "pair_features": pair_features(texts, frame.region.tolist()),
        "pair_features_category": pair_features(
            texts, frame.region.tolist(), frame.category.tolist()
        ),
    }
    for variant, features in variants.items():
        for grouped in (False, True):
            metrics = evaluate_pair_features(
                features, truth, folds, seed, groups if grouped else None
            )
            record("both", variant, metrics, grouped)
    # The better gradient boosting variant on the stratified folds is refit and registered.
    best = max(variants, key=lambda name: figures["both"][f"f1_{name}"])
    figures["both"]["f1"] = figures["both"][f"f1_{best}"]
    figures["both"]["best_variant"] = best
    if register:
        log_model_run(
            experiment_id,
            f"duplicates:{best}:both:final",
            {"task": "duplicates", "variant": best, "language": "both", "fit": "all appeals"},
            {key: figures["both"][f"{key}_{best}"] for key in ("f1", "precision", "recall")},
            _gbm().fit(variants[best], truth),
            "boljam-text-duplicates",
            champion_metric="f1",
        )
    return figures


def measure_places(frame, settings, profile, experiment_id) -> dict:
    """Compare the region found in the text with the region column, both mapped to today."""
    from jobs.text.gazetteer import load_gazetteer
    from jobs.text.tracking import log_model_run

    gazetteer = load_gazetteer(settings, profile.real_data)
    reported = [gazetteer.locate(str(value)) for value in frame.region]
    unmapped = sorted({str(v) for v, p in zip(frame.region, reported, strict=True) if p is None})
    figures: dict[str, dict] = {}
    for language, column in (("kk", "text_kz"), ("ru", "text_ru")):
        found = [gazetteer.locate(text) for text in frame[column]]
        pairs = [
            (place.region_code, truth.region_code)
            for place, truth in zip(found, reported, strict=True)
            if place is not None and truth is not None
        ]
        agreement = sum(a == b for a, b in pairs) / len(pairs) if pairs else 0.0
        figures[language] = {
            "agreement": agreement,
            "appeals_with_place": len(pairs),
            "coverage": len(pairs) / len(frame),
            "region_values_unmapped": len(unmapped),
        }
        log_model_run(
            experiment_id,
            f"places:gazetteer:{language}",
            {"task": "places", "variant": "gazetteer", "language": language},
            figures[language],
        )
    return figures
