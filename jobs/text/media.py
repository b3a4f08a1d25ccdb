"""Media monitoring: threat tagging by lexicons with weak supervision, and dates of items.

Each threat class has stems in Russian and Kazakh (folded: қ -> к, ө -> о). A headline
that matches stems of one class is labelled by the lexicon. A character n-gram classifier
trained on those lexicon labels then tags the remaining items when it is confident, so that
wording outside the lexicons ("зарезал", "расстрелял") still finds its class.
"""

from __future__ import annotations

import datetime as dt
import re

from jobs.text.normalise import fold_kazakh, normalise, words

THREAT_CLASSES = (
    "fraud", "drugs", "violence", "road_accidents", "fires_emergencies", "cyber",
    "corruption", "extremism", "other",
)  # fmt: skip

# Stems matched at the start of a folded word (Kazakh letters folded to Russian ones).
THREAT_LEXICON: dict[str, tuple[str, ...]] = {
    "fraud": ("мошенн", "афер", "обман", "пирамид", "вымога", "лжеброкер", "алая",
              "алаяк", "жалган", "каржы пирамид"),
    "drugs": ("наркот", "нарко", "закладк", "героин", "марихуан", "синтетик", "есирткі",
              "есиртки", "прекурсор"),
    "violence": ("убий", "убил", "убит", "зарез", "ножев", "нож", "избил", "избиен", "насил",
                 "изнасил", "стрельб", "расстрел", "перестрелк", "похит", "педофил",
                 "ограблен", "разбой", "кража", "украл", "заложник", "пнул", "олтир",
                 "зорлык", "тонау", "урлык", "покушен"),
    "road_accidents": ("дтп", "авари", "столкнов", "сбил", "кювет", "жол-колик", "жкo",
                       "жол апат", "погон"),
    "fires_emergencies": ("пожар", "возгоран", "загорел", "огонь", "взрыв", "наводнен",
                          "паводк", "землетряс", "шторм", "чс", "орт", "су тасқын", "төтенше",
                          "тотенше", "спасател"),
    "cyber": ("кибер", "хакер", "утечк", "взлом", "фишинг", "дипфейк", "сбой", "ботнет",
              "кибершабуыл", "киберкатер", "деректер"),
    "corruption": ("коррупц", "взятк", "откат", "хищен", "растрат", "пара ал", "сыбайлас",
                   "злоупотреб"),
    "extremism": ("экстрем", "террор", "радикал", "бомб", "боеприпас", "оружи", "вербов"),
}  # fmt: skip

RUSSIAN_MONTHS = {
    "января": 1, "февраля": 2, "марта": 3, "апреля": 4, "мая": 5, "июня": 6, "июля": 7,
    "августа": 8, "сентября": 9, "октября": 10, "ноября": 11, "декабря": 12,
}  # fmt: skip
KAZAKH_MONTHS = {
    "қаңтар": 1, "ақпан": 2, "наурыз": 3, "сәуір": 4, "мамыр": 5, "маусым": 6, "шілде": 7,
    "тамыз": 8, "қыркүйек": 9, "қазан": 10, "қараша": 11, "желтоқсан": 12,
}  # fmt: skip
DAYS_BACK = {"сегодня": 0, "бүгін": 0, "вчера": 1, "кеше": 1, "позавчера": 2, "алдыңғы күні": 2}
AGO = re.compile(
    r"^(\d+)\s+(минут\w*|час\w*|день|дня|дней|сағат\w*|күн\w*)\s+(назад|бұрын)$", re.IGNORECASE
)
DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})\s+([^\W\d_]+)\s*(\d{4})?(?:\s*ж\.?)?$")
NUMERIC_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


class RelativeDateError(ValueError):
    """A date string is neither a known relative date nor a parseable calendar date."""


def resolve_date(raw: str, crawl_date: dt.date) -> dt.date:
    """Resolve a Russian or Kazakh date ("Сегодня", "Вчера", "01 декабря 2025") to a date.

    Relative words count back from ``crawl_date``, the local date of the crawl. A day and
    month without a year take the latest such date not after ``crawl_date``.
    """
    text = " ".join(str(raw).strip().lower().split())
    if text in DAYS_BACK:
        return crawl_date - dt.timedelta(days=DAYS_BACK[text])
    if match := AGO.match(text):
        amount, unit = int(match.group(1)), match.group(2)
        days = amount if unit.startswith(("д", "дн", "күн")) or unit == "день" else 0
        return crawl_date - dt.timedelta(days=days)
    if match := NUMERIC_DATE.match(text):
        day, month, year = (int(part) for part in match.groups())
        return _make_date(year, month, day, raw)
    if match := DAY_MONTH_YEAR.match(text):
        day, month_name, year = int(match.group(1)), match.group(2), match.group(3)
        month = RUSSIAN_MONTHS.get(month_name) or KAZAKH_MONTHS.get(month_name)
        if month is None:
            raise RelativeDateError(f"unknown month {month_name!r} in date {raw!r}")
        if year is not None:
            return _make_date(int(year), month, day, raw)
        candidate = _make_date(crawl_date.year, month, day, raw)
        if candidate > crawl_date:
            candidate = _make_date(crawl_date.year - 1, month, day, raw)
        return candidate
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise RelativeDateError(f"cannot resolve date {raw!r}") from error


def _make_date(year: int, month: int, day: int, raw: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError as error:
        raise RelativeDateError(f"invalid calendar date {raw!r}: {error}") from error


def lexicon_votes(text: str) -> dict[str, int]:
    """Count the lexicon stems of each threat class found in ``text``."""
    # Hyphenated words count as their parts too ("Интернет-алаяқтар" has "алаяқтар").
    folded_words = []
    for word in words(normalise(text)):
        folded = fold_kazakh(word)
        folded_words.append(folded)
        if "-" in folded:
            folded_words.extend(folded.split("-"))
    joined = " ".join(folded_words)
    votes: dict[str, int] = {}
    for label, stems in THREAT_LEXICON.items():
        count = 0
        for stem in stems:
            folded_stem = fold_kazakh(stem)
            if " " in folded_stem:
                count += joined.count(folded_stem)
            else:
                count += sum(word.startswith(folded_stem) for word in folded_words)
        if count:
            votes[label] = count
    return votes


def lexicon_label(text: str) -> str | None:
    """Return the class with most lexicon votes, None when no stem matches (abstain)."""
    votes = lexicon_votes(text)
    if not votes:
        return None
    return max(sorted(votes), key=lambda label: votes[label])


def weak_labels(texts: list[str]) -> list[str]:
    """Return the weak training label of each text: its lexicon class, else "other"."""
    return [lexicon_label(text) or "other" for text in texts]


def build_threat_model():
    """Build the classifier that learns the lexicon labels from character n-grams."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, preprocessor=_prepare
        ),
        LogisticRegression(max_iter=1000, class_weight="balanced"),
    )


def _prepare(text: str) -> str:
    return normalise(str(text)).lower()


def fit_threat_model(texts: list[str]):
    """Fit the threat classifier on the weak labels, or return None below two lexicon classes.

    Texts without any lexicon hit are the weak "other" class of the training set.
    """
    labels = weak_labels(texts)
    if len({label for label in labels if label != "other"}) < 2:
        return None
    return build_threat_model().fit(texts, labels)


def evaluate_threat_model(texts: list[str], folds: int, seed: int) -> dict:
    """Cross-validate the threat classifier against the weak labels of held-out texts.

    The figure measures how well the classifier learns the lexicons, not agreement with
    human labels, which the media dumps do not have.
    """
    import warnings

    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    labels = weak_labels(texts)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # Classes with fewer items than folds (a few headlines) make scikit-learn warn.
        warnings.simplefilter("ignore", UserWarning)
        predicted = cross_val_predict(build_threat_model(), texts, labels, cv=splitter)
    return {
        "weak_macro_f1": float(f1_score(labels, predicted, average="macro")),
        "lexicon_share": sum(label != "other" for label in labels) / len(labels),
    }


def tag_threats(
    texts: list[str], min_probability: float = 0.6, model=None
) -> list[tuple[str, str]]:
    """Tag each text with a threat class and its source ("lexicon", "model" or "none").

    A text without a lexicon hit gets the class of ``model`` (by default one fit on
    ``texts`` by fit_threat_model) only when its probability reaches ``min_probability``.
    """
    labels = [lexicon_label(text) for text in texts]
    if model is None:
        model = fit_threat_model(texts)
    tagged: list[tuple[str, str]] = []
    for text, label in zip(texts, labels, strict=True):
        if label:
            tagged.append((label, "lexicon"))
            continue
        if model is not None:
            probabilities = model.predict_proba([text])[0]
            best = int(probabilities.argmax())
            predicted = str(model.classes_[best])
            if predicted != "other" and probabilities[best] >= min_probability:
                tagged.append((predicted, "model"))
                continue
        tagged.append(("other", "none"))
    return tagged
