"""Silver rows of record sources (appeals, headlines, articles): text columns kept as they
are, keyed, with relative dates resolved against the file's crawl date."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

from jobs.ingest.standardise import Standardised, rejects_frame
from jobs.privacy import protect
from jobs.sources import Source

MONTHS_RU = {
    "января": 1, "февраля": 2, "марта": 3, "апреля": 4, "мая": 5, "июня": 6, "июля": 7,
    "августа": 8, "сентября": 9, "октября": 10, "ноября": 11, "декабря": 12,
}
TODAY_WORDS = {"сегодня", "бүгін", "today"}
YESTERDAY_WORDS = {"вчера", "кеше", "yesterday"}

_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})\s+([а-яё]+)\s+(\d{4})(?:\s*(?:г\.?|года))?")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_CLOCK = re.compile(r",?\s*(?:в\s*)?\d{1,2}:\d{2}$")


def resolve_relative_date(text: str | None, crawl_date: date) -> date | None:
    """Resolve "Сегодня", "Вчера", "01 декабря 2025" or "2025-12-01"; None if unreadable.

    A trailing clock time ("Сегодня, 15:30") is ignored because only the date is kept.
    """
    if text is None:
        return None
    value = _CLOCK.sub("", text.strip().lower()).strip()
    if value in TODAY_WORDS:
        return crawl_date
    if value in YESTERDAY_WORDS:
        return crawl_date - timedelta(days=1)
    match = _DAY_MONTH_YEAR.fullmatch(value)
    if match and match.group(2) in MONTHS_RU:
        try:
            return date(int(match.group(3)), MONTHS_RU[match.group(2)], int(match.group(1)))
        except ValueError:
            return None
    match = _ISO_DATE.fullmatch(value)
    if match:
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            return None
    return None


def crawl_date_of(file_name: str, source: Source) -> date:
    """Return the YYYY-MM-DD date in the file name, or the source's configured crawl date."""
    match = re.search(r"(\d{4}-\d{2}-\d{2})", file_name)
    if match:
        return date.fromisoformat(match.group(1))
    if source.relative_dates and source.relative_dates.crawl_date:
        return source.relative_dates.crawl_date
    raise ValueError(
        f"source {source.name}: file {file_name} has no date in its name; "
        "set relative_dates.crawl_date in conf/sources.yml"
    )


def _protect_row(row: dict, source: Source, key: bytes | None) -> dict:
    """Apply the personal-data treatments to one raw row; dropped columns are left out."""
    for column, treatment in source.personal_data.items():
        if column not in row:
            continue
        if treatment == "drop":
            del row[column]
        else:
            domain = source.pseudonym_domain(column)
            row[column] = protect(row[column], treatment, key, column, domain)[0]
    return row


def _protect_columns(silver, source: Source, key: bytes | None) -> list[str]:
    """Pseudonymise or drop the personal columns of ``silver`` in place; return row flags."""
    flags = [""] * len(silver)
    for column, treatment in source.personal_data.items():
        if column not in silver.columns:
            continue
        if treatment == "drop":
            silver.drop(columns=[column], inplace=True)
            continue
        domain = source.pseudonym_domain(column)
        values = silver[column].astype(object).where(silver[column].notna(), None)
        protected = [protect(value, treatment, key, column, domain) for value in values]
        silver[column] = [value for value, _ in protected]
        flags = [
            ";".join(part for part in (old, new) if part)
            for old, (_, new) in zip(flags, protected, strict=True)
        ]
    return flags


def standardise_records(
    frame,
    source: Source,
    batch_id: str,
    loaded_at: datetime,
    pseudonym_key: bytes | None = None,
) -> Standardised:
    """Key, date-resolve, pseudonymise and validate one batch of record rows."""
    import pandas as pd

    if source.personal_data and pseudonym_key is None:
        raise ValueError(f"source {source.name} has personal data: pass pseudonym_key")
    frame = frame.reset_index(drop=True)
    raw_columns = [c for c in frame.columns if not c.startswith("_")]
    key = frame[source.primary_key].astype("string").str.strip()
    reason = pd.Series(None, index=frame.index, dtype="object")
    detail = pd.Series(None, index=frame.index, dtype="object")
    parse_flags = frame.get("_parse_flag", pd.Series("", index=frame.index)).fillna("")
    malformed = parse_flags.str.contains("field_count").to_numpy()
    reason[malformed] = "malformed_row"
    detail[malformed] = parse_flags[malformed]
    blank_key = (key.isna() | (key == "")).to_numpy()
    reason[blank_key & reason.isna().to_numpy()] = "missing_key"
    detail[blank_key] = "the primary key is empty"

    resolved = None
    spec = source.relative_dates
    if spec is not None:
        crawl = frame["_source_object"].map(lambda name: crawl_date_of(name, source))
        resolved = pd.Series(
            [resolve_relative_date(text, day) for text, day in zip(frame[spec.column], crawl,
                                                                    strict=True)],
            index=frame.index, dtype="object",
        )
        unreadable = resolved.isna() & reason.isna()
        reason[unreadable] = "invalid_date"
        detail[unreadable] = "the date is not Сегодня, Вчера, 'DD month YYYY' or YYYY-MM-DD"

    valid = reason.isna()
    superseded = valid & key.duplicated(keep="last")
    reason[superseded] = "duplicate_key_in_batch"
    detail[superseded] = "a later row of the same batch has the same key; that row is kept"
    rejected = reason.notna()

    # File sources number their rows; SQL sources have no _record_number column.
    numbered = "_record_number" in frame.columns
    record_columns = raw_columns + (["_record_number"] if numbered else [])
    raw_records = [
        json.dumps(_protect_row(row, source, pseudonym_key), ensure_ascii=False, sort_keys=True)
        for row in frame.loc[rejected, record_columns]
        .astype(object).where(frame.loc[rejected].notna(), None).to_dict("records")
    ]
    rejects = rejects_frame(
        source.name, batch_id, key[rejected], reason[rejected], detail[rejected], raw_records,
        loaded_at,
    )
    keep = ~rejected
    silver = frame.loc[keep, raw_columns].copy()
    silver.insert(0, "record_id", key[keep].astype(str))
    if resolved is not None:
        silver[spec.output] = resolved[keep]
    flags = _protect_columns(silver, source, pseudonym_key)
    silver["quality_flags"] = [
        ";".join(part for part in (old, new) if part)
        for old, new in zip(parse_flags[keep].to_numpy(), flags, strict=True)
    ]
    silver["_source_object"] = frame.loc[keep, "_source_object"].to_numpy()
    if numbered:
        silver["_record_number"] = frame.loc[keep, "_record_number"].astype("int64").to_numpy()
    silver["_batch_id"] = batch_id
    silver["_loaded_at"] = pd.Timestamp(loaded_at).tz_convert("UTC")
    silver["_row_hash"] = frame.loc[keep, "_row_hash"].to_numpy()
    return Standardised(
        silver=silver.reset_index(drop=True), rejects=rejects.reset_index(drop=True)
    )


def record_schema(silver_frame, source: Source):
    import pyarrow as pa

    fields = [pa.field("record_id", pa.string(), nullable=False)]
    for column in silver_frame.columns:
        if column == "record_id":
            continue
        if source.relative_dates and column == source.relative_dates.output:
            fields.append(pa.field(column, pa.date32()))
        elif column == "_loaded_at":
            fields.append(pa.field(column, pa.timestamp("us", tz="UTC")))
        elif column == "_record_number":
            fields.append(pa.field(column, pa.int64()))
        else:
            fields.append(pa.field(column, pa.string()))
    return pa.schema(fields)
