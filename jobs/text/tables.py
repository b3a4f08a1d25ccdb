"""Silver and gold Delta tables of the text jobs (appeals, media items, their marts).

Tables (``profile.table_path(layer, name)``), each overwritten as a whole on every run:

- silver ``appeals``: one row per appeal (``appeal_id``).
- silver ``media_items``: one row per headline or article (``item_id``).
- gold ``emerging_terms``: one row per week and term found emerging.

The dbt marts aggregate them by week (``agg_appeals_weekly``, ``agg_media_signals_weekly``).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

UNKNOWN_REGION = "UNK"


def read_appeals(real_data: Path, settings: dict):
    """Read the appeals dump; raise FileNotFoundError naming the path when it is missing."""
    import pandas as pd

    path = real_data / settings["inputs"]["appeals"]
    if not path.exists():
        raise FileNotFoundError(f"appeals dump not found: {path}; check real_data_dir")
    frame = pd.read_csv(path)
    frame["duplicate"] = frame["duplicate"].astype(str).str.lower().eq("true")
    return frame


def read_appeals_silver(profile):
    """Read the landed silver ``citizen_appeals`` table in the dump's id order.

    The frame has the dump's columns and types, so the text jobs treat it like the dump.
    """
    from deltalake import DeltaTable

    columns = ["id", "text_kz", "text_ru", "category", "urgency", "region", "status", "duplicate"]
    path = profile.table_path("silver", "citizen_appeals")
    frame = DeltaTable(str(path)).to_pandas(columns=columns)
    frame["id"] = frame["id"].astype("int64")
    frame["duplicate"] = frame["duplicate"].astype(str).str.lower().eq("true")
    return frame.sort_values("id", ignore_index=True)


def submission_times(count: int, settings: dict) -> list[dt.datetime]:
    """Date appeals by their order, because the dump carries no submission time."""
    start = dt.datetime.fromisoformat(settings["appeals"]["start_date"]).replace(tzinfo=dt.UTC)
    step = dt.timedelta(minutes=settings["appeals"]["minutes_between_appeals"])
    return [start + step * index for index in range(count)]


def week_start(moment: dt.date | dt.datetime) -> dt.date:
    """Return the Monday of the ISO week of ``moment``."""
    day = moment.date() if isinstance(moment, dt.datetime) else moment
    return day - dt.timedelta(days=day.weekday())


def build_appeals(frame, gazetteer, settings: dict, predictions: dict, links) -> object:
    """Build the silver appeals frame from the dump, model predictions and duplicate links.

    ``predictions`` maps "category" and "urgency" to per-appeal predicted labels and
    ``links`` is (linked index or -1, similarity, predicted flag) per appeal.
    """
    import pandas as pd

    appeals = settings["appeals"]
    as_of = dt.datetime.fromisoformat(appeals["as_of"]).replace(tzinfo=dt.UTC)
    submitted = submission_times(len(frame), settings)
    rows = []
    linked, similarity, flagged = links
    for index, record in enumerate(frame.itertuples(index=False)):
        place = gazetteer.locate(record.text_ru) or gazetteer.locate(record.text_kz)
        column_place = gazetteer.locate(str(record.region))
        region_code = (place or column_place).region_code if (place or column_place) else None
        days = appeals["response_days"].get(record.urgency, appeals["default_response_days"])
        deadline = submitted[index] + dt.timedelta(days=days)
        is_open = record.status != "решена"
        linked_id = int(frame.id.iloc[linked[index]]) if linked[index] >= 0 else None
        place_source = None
        if place is not None:
            place_source = "text"
        elif column_place is not None:
            place_source = "region_column"
        rows.append(
            {
                "appeal_id": int(record.id),
                "text_kz": record.text_kz,
                "text_ru": record.text_ru,
                "category": record.category,
                "category_predicted": str(predictions["category"][index]),
                "urgency": record.urgency,
                "urgency_predicted": str(predictions["urgency"][index]),
                "status": record.status,
                "region_reported": record.region,
                "region_reported_code": column_place.region_code if column_place else None,
                "city": place.city if place else None,
                "region_code": region_code or UNKNOWN_REGION,
                "region_name": gazetteer.region_name(region_code) if region_code else None,
                "place_source": place_source,
                "submitted_at": submitted[index],
                "week_start": week_start(submitted[index]),
                "response_days": int(days),
                "deadline_at": deadline,
                "is_overdue": bool(is_open and as_of > deadline),
                "is_duplicate_reported": bool(record.duplicate),
                "is_duplicate_predicted": bool(flagged[index]),
                "duplicate_of_id": linked_id,
                "duplicate_similarity": float(similarity[index]),
            }
        )
    result = pd.DataFrame(rows)
    result["duplicate_of_id"] = result["duplicate_of_id"].astype("Int64")
    return result


def read_media(real_data: Path, settings: dict):
    """Read the headline dump and the Kazakh article file into one frame of media items."""
    import pandas as pd

    headlines = pd.read_csv(real_data / settings["inputs"]["headlines"])
    article_path = real_data / settings["inputs"]["article"]
    article = (article_path.name, article_path.read_text(encoding="utf-8"))
    return media_items(headlines, [article], settings)


def read_media_silver(profile, settings: dict):
    """Read the landed silver ``media_headlines`` and ``media_articles`` into media items."""
    from deltalake import DeltaTable

    # Rows keep the order of their landed files, as when the dumps are read directly.
    order = ["_source_object", "_record_number"]
    headlines = DeltaTable(str(profile.table_path("silver", "media_headlines"))).to_pandas(
        columns=["title", "link", "date_raw", "category", *order]
    )
    articles = DeltaTable(str(profile.table_path("silver", "media_articles"))).to_pandas(
        columns=["file_name", "text", *order]
    )
    headlines = headlines.sort_values(order, ignore_index=True)
    articles = articles.sort_values(order, ignore_index=True)
    pairs = list(zip(articles.file_name, articles.text, strict=True))
    return media_items(headlines, pairs, settings)


def media_items(headlines, articles: list[tuple[str, str]], settings: dict):
    """Build media items from headline rows and (file name, text) pairs of Kazakh articles.

    An article's first line is "date YYYY-MM-DD <first sentence>".
    """
    import pandas as pd

    from jobs.text.media import resolve_date

    crawl = dt.date.fromisoformat(settings["headlines_crawl_date"])
    items = [
        {
            "item_id": f"headline:{link.rstrip('/').rsplit('-', 1)[-1]}",
            "source": "tengrinews",
            "language": "ru",
            "title": title,
            "body": None,
            "url": link,
            "date_raw": raw,
            "published_on": resolve_date(raw, crawl),
            "source_category": category,
        }
        for title, link, raw, category in zip(
            headlines.title, headlines.link, headlines.date_raw, headlines.category, strict=True
        )
    ]
    for file_name, text in articles:
        first, _, body = text.strip().partition("\n")
        _, date_text, lead = first.strip().split(" ", 2)
        items.append(
            {
                "item_id": f"article:{Path(file_name).stem}",
                "source": file_name,
                "language": "kk",
                "title": lead[:200],
                "body": lead + "\n" + body,
                "url": None,
                "date_raw": date_text,
                "published_on": resolve_date(date_text, crawl),
                "source_category": None,
            }
        )
    return pd.DataFrame(items)


def media_texts(items) -> list[str]:
    """Return the text of each media item: the body of an article, the title of a headline."""
    return [
        item.title if item.body is None else item.body for item in items.itertuples(index=False)
    ]


def build_media(items, gazetteer, threat_model=None):
    """Tag media items with a threat class and a place.

    ``threat_model`` is the classifier for items without a lexicon hit. Without it, one is
    fit on the items' weak labels.
    """
    from jobs.text.media import tag_threats

    texts = media_texts(items)
    tags = tag_threats(texts, model=threat_model)
    places = [gazetteer.locate(text) for text in texts]
    items = items.copy()
    items["threat_class"] = [label for label, _ in tags]
    items["tag_source"] = [source for _, source in tags]
    items["city"] = [place.city if place else None for place in places]
    items["region_code"] = [place.region_code if place else UNKNOWN_REGION for place in places]
    items["week_start"] = [week_start(day) for day in items["published_on"]]
    return items


def build_emerging(media, settings: dict):
    """Find emerging terms in the media items by week; one row per week and term."""
    from collections import Counter

    import pandas as pd

    from jobs.text.emerging import detect_emerging, extract_terms, weekly_counts

    options = settings["emerging"]
    documents = []
    examples: dict[tuple[str, str], str] = {}
    for item in media.itertuples(index=False):
        terms = extract_terms(item.title)
        week = item.week_start.isoformat()
        documents.append((week, terms))
        for term in terms:
            examples.setdefault((week, term), item.title)
    counts = weekly_counts(documents)
    # Weeks without items count as zero history, so fill every Monday between the first and
    # last week.
    if counts:
        monday = dt.date.fromisoformat(min(counts))
        last = dt.date.fromisoformat(max(counts))
        while monday < last:
            counts.setdefault(monday.isoformat(), Counter())
            monday += dt.timedelta(days=7)
    found = detect_emerging(
        counts, options["history_weeks"], options["alpha"], options["min_count"]
    )
    columns = ["week_start", "term", "count", "expected", "p_value", "example"]
    rows = [
        (dt.date.fromisoformat(f.week), f.term, f.count, f.expected, f.p_value,
         examples[(f.week, f.term)])
        for f in found
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns).astype({"count": "int64"})


def write_table(frame, path: Path) -> int:
    """Overwrite the Delta table at ``path`` with ``frame``; return the new table version."""
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # A column of only nulls gets Arrow's null type, which DuckDB's delta_scan cannot read.
    # Every such column of these tables is text.
    for index, field in enumerate(table.schema):
        if pa.types.is_null(field.type):
            table = table.set_column(index, field.name, table.column(index).cast(pa.string()))
    write_deltalake(str(path), table, mode="overwrite", schema_mode="overwrite")
    version = DeltaTable(str(path)).version()
    logger.info("wrote %s rows to %s (version %s)", len(frame), path, version)
    return version
