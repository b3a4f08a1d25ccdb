"""Duplicate appeals: link an appeal to the most similar earlier appeal about the same problem.

Similarity is the cosine of character 2-5-gram TF-IDF vectors. The TF-IDF vocabulary is fit
on all appeal texts without labels. Two detectors are compared:

- ``earlier_max``: an appeal is a duplicate when its most similar earlier appeal reaches a
  threshold, chosen on the training folds only.
- ``pair_features``: gradient boosting over similarity features. The features are the
  similarity to earlier, later and any appeal, in both languages, within the same region or
  not, the count of near copies and the position in the dump (with ``categories``, also one
  indicator per appeal category). Its decision threshold is chosen by inner
  cross-validation on the training folds.
- ``twin_label``: ``earlier_max``, except that an appeal whose text has a copy in the
  training folds (cosine >= TWIN_SIMILARITY) takes that copy's label.

With ``groups`` (one id per distinct text), the outer folds keep all copies of a text in
one fold, so no detector can read the label of a test appeal's copy.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

THRESHOLDS = [round(0.2 + 0.02 * step, 2) for step in range(40)]
# Cosine similarity at which two appeal texts count as copies of each other.
TWIN_SIMILARITY = 0.99


def similarity_matrix(texts: list[str]):
    """Return the dense cosine similarity of char 2-5-gram TF-IDF vectors, diagonal zeroed."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    from jobs.text.normalise import normalise

    vectors = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True
    ).fit_transform([normalise(text).lower() for text in texts])
    similarity = (vectors @ vectors.T).toarray()
    np.fill_diagonal(similarity, 0.0)
    return similarity


def link_to_earlier(similarity, regions=None):
    """Return, per appeal, the index of its most similar earlier appeal and that similarity.

    When ``regions`` is given, earlier appeals from the same region are preferred: an appeal
    from another region is linked only when none from the same region exists.
    """
    import numpy as np

    earlier = np.tril(similarity, -1)
    if regions is not None:
        region_array = np.asarray(regions, dtype=object)
        same = region_array[:, None] == region_array[None, :]
        earlier = np.where(same, earlier, earlier * 0.999)
    best = earlier.argmax(axis=1)
    score = np.tril(similarity, -1)[np.arange(len(best)), best]
    best = np.where(np.arange(len(best)) == 0, -1, best)
    return best, score


def pair_features(texts_by_language: dict[str, list[str]], regions: list[str], categories=None):
    """Build the per-appeal features of the ``pair_features`` detector."""
    import numpy as np
    import pandas as pd

    count = len(regions)
    region_array = np.asarray(regions, dtype=object)
    same_region = region_array[:, None] == region_array[None, :]
    features: dict[str, object] = {}
    for language, texts in texts_by_language.items():
        similarity = similarity_matrix(texts)
        earlier = np.tril(similarity, -1)
        features[f"{language}_earlier"] = earlier.max(axis=1)
        features[f"{language}_later"] = np.triu(similarity, 1).max(axis=1)
        features[f"{language}_any"] = similarity.max(axis=1)
        features[f"{language}_earlier_same_region"] = (earlier * same_region).max(axis=1)
        features[f"{language}_any_same_region"] = (similarity * same_region).max(axis=1)
        for cut in (0.5, 0.8, 0.95):
            features[f"{language}_over_{int(cut * 100)}"] = (similarity > cut).sum(axis=1)
    features["position"] = np.arange(count) / count
    frame = pd.DataFrame(features)
    if categories is not None:
        indicators = pd.get_dummies(pd.Series(list(categories), name="category"), prefix="category")
        frame = pd.concat([frame, indicators.astype(float)], axis=1)
    return frame


def best_threshold(truth, scores) -> float:
    """Return the threshold of THRESHOLDS with the highest F1 of ``scores >= threshold``."""
    from sklearn.metrics import f1_score

    return max(THRESHOLDS, key=lambda cut: f1_score(truth, scores >= cut, zero_division=0))


def outer_folds(truth, folds: int, seed: int, groups=None):
    """Return the (train, test) index pairs: stratified, and grouped when ``groups`` is given."""
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    placeholder = np.zeros(len(truth))
    if groups is None:
        return list(
            StratifiedKFold(folds, shuffle=True, random_state=seed).split(placeholder, truth)
        )
    splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    return list(splitter.split(placeholder, truth, groups))


def evaluate_earlier_max(
    similarity, truth, folds: int, seed: int, groups=None, twin_label: bool = False
) -> dict:
    """Cross-validate ``earlier_max`` (or ``twin_label``): threshold from training folds only."""
    import numpy as np
    from sklearn.metrics import f1_score, precision_score, recall_score

    truth = np.asarray(truth, dtype=bool)
    score = np.tril(similarity, -1).max(axis=1)
    predicted = np.zeros_like(truth)
    cuts = []
    for train, test in outer_folds(truth, folds, seed, groups):
        cut = best_threshold(truth[train], score[train])
        cuts.append(cut)
        predicted[test] = score[test] >= cut
        if twin_label:
            to_train = similarity[np.ix_(test, train)]
            nearest = to_train.argmax(axis=1)
            has_twin = to_train.max(axis=1) >= TWIN_SIMILARITY
            predicted[test] = np.where(has_twin, truth[train][nearest], predicted[test])
    return _binary_metrics(truth, predicted, f1_score, precision_score, recall_score) | {
        "threshold_mean": float(np.mean(cuts))
    }


def _gbm():
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_depth=3, max_iter=150, learning_rate=0.05)


def evaluate_pair_features(features, truth, folds: int, seed: int, groups=None) -> dict:
    """Cross-validate the ``pair_features`` detector with a nested threshold choice."""
    import numpy as np
    from sklearn.metrics import f1_score, precision_score, recall_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    truth = np.asarray(truth, dtype=bool)
    predicted = np.zeros_like(truth)
    cuts = []
    for train, test in outer_folds(truth, folds, seed, groups):
        inner = StratifiedKFold(folds, shuffle=True, random_state=seed + 1)
        inner_scores = cross_val_predict(
            _gbm(), features.iloc[train], truth[train], cv=inner, method="predict_proba"
        )[:, 1]
        cut = best_threshold(truth[train], inner_scores)
        cuts.append(cut)
        model = _gbm().fit(features.iloc[train], truth[train])
        predicted[test] = model.predict_proba(features.iloc[test])[:, 1] >= cut
    return _binary_metrics(truth, predicted, f1_score, precision_score, recall_score) | {
        "threshold_mean": float(np.mean(cuts))
    }


def _binary_metrics(truth, predicted, f1_score, precision_score, recall_score) -> dict:
    return {
        "f1": float(f1_score(truth, predicted)),
        "precision": float(precision_score(truth, predicted)),
        "recall": float(recall_score(truth, predicted)),
    }
