"""Language identification (Kazakh, Russian, mixed) trained on parallel appeal texts.

A multinomial naive Bayes model on character 1-4-grams scores each sentence. The Kazakh
letters әғқңөұүһі are frequent Kazakh n-grams, so the model learns them without a rule. A
text whose sentences or word halves disagree with confidence is "mixed".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from jobs.text.normalise import KAZAKH_LETTERS, normalise

SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\s+[-–—]\s+")
LANGUAGES = ("kk", "ru")


@dataclass
class LanguageIdentifier:
    """Character n-gram naive Bayes over Kazakh and Russian with a mixed-text rule."""

    min_confidence: float = 0.9
    pipeline: object = field(default=None, repr=False)

    def fit(self, texts_kk: list[str], texts_ru: list[str]) -> LanguageIdentifier:
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.naive_bayes import MultinomialNB
        from sklearn.pipeline import make_pipeline

        texts = [normalise(text).lower() for text in texts_kk + texts_ru]
        labels = ["kk"] * len(texts_kk) + ["ru"] * len(texts_ru)
        self.pipeline = make_pipeline(
            CountVectorizer(analyzer="char_wb", ngram_range=(1, 4)), MultinomialNB(alpha=0.1)
        )
        self.pipeline.fit(texts, labels)
        return self

    def _scores(self, segments: list[str]) -> list[tuple[str, float]]:
        if self.pipeline is None:
            raise RuntimeError("LanguageIdentifier is not fitted; call fit() first")
        probabilities = self.pipeline.predict_proba([normalise(s).lower() for s in segments])
        classes = list(self.pipeline.classes_)
        return [(str(classes[row.argmax()]), float(row.max())) for row in probabilities]

    def predict_one(self, text: str) -> str:
        """Return "kk", "ru" or "mixed" for one text."""
        segments = [s for s in SENTENCE.split(text) if len(s.strip()) >= 12]
        if not segments:
            segments = [text]
        confident = {lang for lang, p in self._scores(segments) if p >= self.min_confidence}
        if len(confident) > 1:
            return "mixed"
        whole_language, _ = self._scores([text])[0]
        if len(segments) == 1 and len(text.split()) >= 6:
            # One long sentence can switch language halfway; score the word halves too.
            tokens = text.split()
            half = len(tokens) // 2
            halves = [" ".join(tokens[:half]), " ".join(tokens[half:])]
            confident = {lang for lang, p in self._scores(halves) if p >= self.min_confidence}
            if len(confident) > 1:
                return "mixed"
        return whole_language

    def predict(self, texts: list[str]) -> list[str]:
        """Return "kk", "ru" or "mixed" for each text."""
        return [self.predict_one(text) for text in texts]


def kazakh_letter_share(text: str) -> float:
    """Return the share of letters that are Kazakh-only letters (әғқңөұүһі)."""
    letters = [char for char in text.lower() if char.isalpha()]
    if not letters:
        return 0.0
    return sum(char in KAZAKH_LETTERS for char in letters) / len(letters)


def evaluate_language_id(texts_kk: list[str], texts_ru: list[str], folds: int, seed: int) -> dict:
    """Cross-validate the identifier on parallel texts and on constructed mixed texts.

    Folds split appeals, so both versions of an appeal are in the same fold. A mixed text is
    the first sentence of one appeal's Kazakh text followed by another appeal's Russian text.
    """
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import KFold

    kk = np.array(texts_kk, dtype=object)
    ru = np.array(texts_ru, dtype=object)
    truth: list[str] = []
    predicted: list[str] = []
    for train, test in KFold(folds, shuffle=True, random_state=seed).split(kk):
        model = LanguageIdentifier().fit(list(kk[train]), list(ru[train]))
        rolled = np.roll(test, 1)
        mixed = [
            SENTENCE.split(kk[i])[0] + " " + SENTENCE.split(ru[j])[0]
            for i, j in zip(test, rolled, strict=True)
        ]
        batch = list(kk[test]) + list(ru[test]) + mixed
        truth += ["kk"] * len(test) + ["ru"] * len(test) + ["mixed"] * len(test)
        predicted += model.predict(batch)
    labels = ["kk", "ru", "mixed"]
    per_class = f1_score(truth, predicted, labels=labels, average=None)
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1_score(truth, predicted, labels=labels, average="macro")),
        **{f"f1_{label}": float(value) for label, value in zip(labels, per_class, strict=True)},
    }
