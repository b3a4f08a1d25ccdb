"""Appeal triage models: category and urgency classifiers, compared by cross-validation.

Every variant is a scikit-learn pipeline over the appeal text in one language ("kk", "ru") or
in both ("both": the Kazakh and Russian versions side by side). Folds are stratified by the
target; the same folds serve every variant.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from jobs.text.normalise import normalise, tokenise

logger = logging.getLogger(__name__)

TEXT_COLUMNS = {"kk": "text_kz", "ru": "text_ru"}
# Columns that the pipelines receive: both texts and the region that the appeal names.
FEATURE_COLUMNS = [*TEXT_COLUMNS.values(), "region"]

# Words that mark danger to people or urgency, in Russian and Kazakh (stems, folded case).
URGENCY_KEYWORDS = (
    "срочн", "опасн", "угроз", "жизн", "здоров", "дет", "ребен", "инвалид", "нападают", "затап",
    "пожар", "авари", "травм", "умер", "смерт", "больн", "лекарств", "кража", "взятк",
    "шұғыл", "қауіп", "өмір", "денсаулық", "бала", "мүгедек", "шабуыл", "су басып", "өрт",
    "апат", "жарақат", "қайтыс", "ауру", "дәрі", "ұрлық", "пара",
)  # fmt: skip


def kazakh_analyzer(text: str) -> list[str]:
    """Word analyser for Kazakh: stems and suffix tokens from the suffix splitter."""
    return tokenise(text, "kk")


def keyword_counts(texts) -> object:
    """Return a sparse matrix with one column per urgency keyword (occurrences in the text)."""
    import numpy as np
    from scipy import sparse

    rows = [
        [normalise(str(text)).lower().count(word) for word in URGENCY_KEYWORDS] for text in texts
    ]
    return sparse.csr_matrix(np.asarray(rows, dtype=float))


def _char(ngram_range=(2, 5)):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=ngram_range, sublinear_tf=True, preprocessor=_prep
    )


def _word(analyzer=None):
    from sklearn.feature_extraction.text import TfidfVectorizer

    if analyzer is not None:
        return TfidfVectorizer(analyzer=analyzer, sublinear_tf=True)
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, preprocessor=_prep)


def _prep(text: str) -> str:
    return normalise(str(text)).lower()


def _text_features(language: str, with_words: bool, with_keywords: bool, with_region: bool = False):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

    columns = ["kk", "ru"] if language == "both" else [language]
    parts = []
    for lang in columns:
        column = TEXT_COLUMNS[lang]
        parts.append((f"char_{lang}", _char(), column))
        if with_words:
            word = _word(kazakh_analyzer) if lang == "kk" else _word()
            parts.append((f"word_{lang}", word, column))
        if with_keywords:
            keywords = FunctionTransformer(keyword_counts, accept_sparse=True)
            parts.append((f"keywords_{lang}", keywords, column))
    if with_region:
        # One indicator per region value of the appeal. A region unseen in training is all 0.
        parts.append(("region", OneHotEncoder(handle_unknown="ignore"), ["region"]))
    return ColumnTransformer(parts)


def build_variant(name: str, language: str):
    """Build the pipeline of variant ``name`` for ``language`` ("kk", "ru" or "both")."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    if name not in VARIANTS:
        raise ValueError(f"unknown triage variant {name!r}; known: {sorted(VARIANTS)}")
    return VARIANTS[name](language, LogisticRegression, LinearSVC, make_pipeline)


VARIANTS: dict[str, Callable] = {
    # Reference: character 2-5-grams and logistic regression.
    "char_lr": lambda lang, lr, svm, pipe: pipe(
        _text_features(lang, False, False), lr(C=1.0, max_iter=1000)
    ),
    "char_lr_c10": lambda lang, lr, svm, pipe: pipe(
        _text_features(lang, False, False), lr(C=10.0, max_iter=1000)
    ),
    "char_word_svm": lambda lang, lr, svm, pipe: pipe(
        _text_features(lang, True, False), svm(C=0.5)
    ),
    "char_word_keywords_svm": lambda lang, lr, svm, pipe: pipe(
        _text_features(lang, True, True), svm(C=0.5)
    ),
    "char_word_svm_balanced": lambda lang, lr, svm, pipe: pipe(
        _text_features(lang, True, False), svm(C=0.5, class_weight="balanced")
    ),
    "char_word_region_svm": lambda lang, lr, svm, pipe: pipe(
        _text_features(lang, True, False, with_region=True), svm(C=0.5)
    ),
}


def cross_validate_variant(frame, target: str, variant: str, language: str, folds, seed: int):
    """Cross-validate one variant; return (metrics, out-of-fold predictions)."""
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    labels = frame[target].astype(str)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(
        build_variant(variant, language), frame[FEATURE_COLUMNS], labels, cv=splitter
    )
    metrics = {
        "macro_f1": float(f1_score(labels, predicted, average="macro")),
        "accuracy": float(accuracy_score(labels, predicted)),
    }
    logger.info("%s %s %s: macro-F1 %.3f", target, variant, language, metrics["macro_f1"])
    return metrics, predicted


def fit_variant(frame, target: str, variant: str, language: str):
    """Fit one variant on every appeal, for scoring new appeals."""
    model = build_variant(variant, language)
    model.fit(frame[FEATURE_COLUMNS], frame[target].astype(str))
    return model
