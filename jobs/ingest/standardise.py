"""Turn raw bronze rows of one source into typed silver rows and reason-coded rejects.

``standardise`` is a pure function of a pandas frame of text columns, so tests call it
with a few literal rows. Each input row ends in exactly one of the two outputs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from jobs.geo import latlng_to_cells, to_wgs84
from jobs.privacy import protect
from jobs.schemas import H3_RESOLUTIONS
from jobs.sources import Source

# Reason codes of the rejects table, in the order the checks run.
REASONS = {
    "missing_key": "the primary key is empty",
    "missing_timestamp": "a timestamp column is empty",
    "invalid_timestamp": "the timestamp does not match the source's format",
    "timestamp_out_of_range": "the timestamp is before 1900 or in the future",
    "missing_category": "the category column is empty",
    "unknown_category": "the category is not in the source's mapping",
    "missing_coordinates": "a coordinate is empty",
    "invalid_coordinates": "a coordinate is not a number",
    "zero_coordinates": "the point is (0, 0), a common placeholder for unknown",
    "swapped_coordinates": "the point lies in the area only with x and y swapped",
    "out_of_area": "the point lies outside the source's area",
    "duplicate_key_in_batch": "a later row of the same batch has the same key",
    "duplicate_content": "another key already holds a row with identical content",
}

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)


@dataclass
class Standardised:
    silver: object  # pandas DataFrame in the silver column order
    rejects: object  # pandas DataFrame in the rejects column order


def snake_case(value: str) -> str:
    """Normalise a source category to lower snake case ('Auto Theft' -> 'auto_theft')."""
    return re.sub(r"[^0-9a-z]+", "_", value.strip().lower()).strip("_")


def _per_distinct(series, function):
    """Return ``function`` of each value of ``series``, called once per distinct value.

    Source columns repeat few distinct values (categories, dates, districts), so this is
    much cheaper than a call per row. Missing values map to None.
    """
    import pandas as pd

    codes, distinct = pd.factorize(series)
    results = np.empty(len(distinct) + 1, dtype=object)
    results[:-1] = [function(value) for value in distinct]
    # factorize codes a missing value as -1, which picks this last slot.
    results[-1] = None
    return pd.Series(results[codes], index=series.index, dtype=object)


def _strip(series):
    """Return ``series`` as text without surrounding whitespace; missing values stay missing."""
    return _per_distinct(series, lambda value: str(value).strip()).astype("string")


def _blank(series):
    """Return True where ``series`` is missing or only whitespace."""
    import pandas as pd

    codes, distinct = pd.factorize(series)
    blank = np.array([str(value).strip() == "" for value in distinct] + [True], dtype=bool)
    return pd.Series(blank[codes], index=series.index)


def _parse_timestamps(frame, source: Source, now: datetime):
    """Return (utc, local, reason) Series; reason is None where the timestamp is usable."""
    import pandas as pd

    spec = source.timestamp
    parts = [_strip(frame[column]) for column in spec.columns]
    missing = np.zeros(len(frame), dtype=bool)
    for part in parts:
        missing |= _blank(part).to_numpy()
    text = parts[0]
    for part in parts[1:]:
        text = text + " " + part
    parsed = pd.to_datetime(text, format=spec.format, errors="coerce")
    if spec.zone == "utc":
        utc = parsed.dt.tz_localize("UTC")
        ambiguous = pd.Series(False, index=frame.index)
    else:
        utc = parsed.dt.tz_localize(source.timezone, ambiguous="NaT", nonexistent="NaT")
        ambiguous = utc.isna() & parsed.notna()
        if ambiguous.any():
            # Repeated or skipped wall-clock times at a DST change: take the first reading,
            # keep the row, and flag it so that analysts can see the choice. The copy
            # detaches utc from the .dt accessor, which would warn on assignment.
            utc = utc.copy()
            utc.loc[ambiguous] = parsed[ambiguous].dt.tz_localize(
                source.timezone, ambiguous=True, nonexistent="shift_forward"
            )
        utc = utc.dt.tz_convert("UTC")
    local = utc.dt.tz_convert(source.timezone).dt.tz_localize(None)
    reason = pd.Series(None, index=frame.index, dtype="object")
    reason[parsed.isna()] = "invalid_timestamp"
    reason[missing] = "missing_timestamp"
    valid = reason.isna()
    out_of_range = valid & ((utc < EARLIEST) | (utc > now + timedelta(days=1)))
    reason[out_of_range] = "timestamp_out_of_range"
    return utc, local, reason, ambiguous


def _coordinates(frame, source: Source):
    """Return (lat, lon, reason) with the points in WGS84 degrees."""
    import pandas as pd

    spec, area = source.coordinates, source.area
    raw_x, raw_y = frame[spec.x], frame[spec.y]
    x = pd.to_numeric(raw_x, errors="coerce").to_numpy(dtype="float64")
    y = pd.to_numeric(raw_y, errors="coerce").to_numpy(dtype="float64")
    lon, lat = to_wgs84(x, y, spec.crs)
    reason = pd.Series(None, index=frame.index, dtype="object")
    finite = np.isfinite(lon) & np.isfinite(lat)
    reason[~finite] = "invalid_coordinates"
    reason[(_blank(raw_x) | _blank(raw_y)).to_numpy()] = "missing_coordinates"

    def inside(lon_values, lat_values):
        return (
            (lon_values >= area.lon_min) & (lon_values <= area.lon_max)
            & (lat_values >= area.lat_min) & (lat_values <= area.lat_max)
        )

    checkable = reason.isna().to_numpy()
    zero = checkable & (x == 0) & (y == 0)
    swapped_lon, swapped_lat = to_wgs84(y, x, spec.crs)
    swapped = checkable & ~zero & ~inside(lon, lat) & inside(swapped_lon, swapped_lat)
    outside = checkable & ~zero & ~swapped & ~inside(lon, lat)
    reason[zero] = "zero_coordinates"
    reason[swapped] = "swapped_coordinates"
    reason[outside] = "out_of_area"
    return lat, lon, reason


def _category(frame, source: Source):
    import pandas as pd

    raw = _strip(frame[source.category.column])
    category = raw.map(source.category.mapping)
    reason = pd.Series(None, index=frame.index, dtype="object")
    reason[category.isna()] = "unknown_category"
    reason[_blank(raw).to_numpy()] = "missing_category"
    return raw, category, reason


def rejects_frame(source_name, batch_id, keys, reasons, details, raw_records, loaded_at):
    """Return rejected rows in the column order of the rejects table."""
    import pandas as pd

    return pd.DataFrame(
        {
            "source": source_name,
            "batch_id": batch_id,
            "record_key": keys.astype(object).where(keys.notna(), None),
            "reason_code": reasons,
            "reason_detail": details.fillna(""),
            "raw_record": raw_records,
            "rejected_at": pd.Timestamp(loaded_at).tz_convert("UTC"),
        }
    )


def _cities(kept, source: Source):
    """Return each row's city: the ``city_column`` value, else the source's ``city``."""
    if not source.city_column:
        return source.city
    values = _strip(kept[source.city_column])
    return values.where(~_blank(values), source.city).astype(str).to_numpy()


def _first_reason(*reasons):
    result = reasons[0].copy()
    for reason in reasons[1:]:
        result = result.where(result.notna(), reason)
    return result


def _raw_records(frame, columns, source: Source, key: bytes | None) -> list[str]:
    """Serialise raw rows as JSON with personal fields already pseudonymised."""
    records = frame[columns].astype(object).where(frame[columns].notna(), None)
    out = []
    for row in records.to_dict(orient="records"):
        for field, treatment in source.personal_data.items():
            if field in row:
                domain = source.pseudonym_domain(field)
                row[field] = protect(row[field], treatment, key, field, domain)[0]
        out.append(json.dumps(row, ensure_ascii=False, sort_keys=True))
    return out


def standardise(
    frame,
    source: Source,
    batch_id: str,
    loaded_at: datetime,
    known_hashes: dict[str, str] | None = None,
    pseudonym_key: bytes | None = None,
    now: datetime | None = None,
) -> Standardised:
    """Type, validate, geocode and pseudonymise one batch of bronze rows.

    ``known_hashes`` maps content hashes already in silver to their key, so that a row
    copied under a new key is rejected as duplicate_content instead of counted twice.
    """
    import pandas as pd

    now = now or datetime.now(UTC)
    known_hashes = known_hashes or {}
    if source.personal_data and pseudonym_key is None:
        raise ValueError(f"source {source.name} has personal data: pass pseudonym_key")
    frame = frame.reset_index(drop=True)
    raw_columns = [c for c in frame.columns if not c.startswith("_")]
    key = _strip(frame[source.primary_key])

    utc, local, time_reason, ambiguous = _parse_timestamps(frame, source, now)
    raw_category, category, category_reason = _category(frame, source)
    lat, lon, coordinate_reason = _coordinates(frame, source)
    key_reason = pd.Series(None, index=frame.index, dtype="object")
    key_reason[_blank(key).to_numpy()] = "missing_key"
    reason = _first_reason(key_reason, time_reason, category_reason, coordinate_reason)

    # Within a batch the last row of a key wins; earlier ones are kept as rejects.
    valid = reason.isna()
    superseded = valid & key.duplicated(keep="last")
    reason[superseded] = "duplicate_key_in_batch"
    valid = reason.isna()
    row_hash = frame["_row_hash"]
    repeated_here = valid & row_hash.where(valid).duplicated(keep="first")
    elsewhere = valid & row_hash.map(lambda h: h in known_hashes)
    owner = row_hash.map(known_hashes)
    copy_of_other = elsewhere & (owner != key)
    if source.duplicate_content == "reject":
        reason[repeated_here | copy_of_other] = "duplicate_content"

    detail = reason.map(REASONS)
    detail[superseded] = "a later row of the same batch has the same key; that row is kept"
    rejected = reason.notna()
    rejects = rejects_frame(
        source.name,
        batch_id,
        key[rejected],
        reason[rejected],
        detail[rejected],
        _raw_records(frame[rejected], raw_columns, source, pseudonym_key),
        loaded_at,
    )

    keep = ~rejected.to_numpy()
    kept = frame[keep]
    cells = latlng_to_cells(lat[keep], lon[keep], H3_RESOLUTIONS)
    flags = pd.Series("", index=kept.index, dtype="object")
    if ambiguous[keep].any():
        flags[ambiguous[keep].to_numpy()] = "local_time_ambiguous"
    if source.local_hour_column:
        stated = pd.to_numeric(kept[source.local_hour_column], errors="coerce")
        mismatch = (~(stated == local[keep].dt.hour)).to_numpy()
        flags[mismatch] = (flags[mismatch] + ";local_hour_mismatch").str.strip(";")
    silver = pd.DataFrame(
        {
            "incident_id": key[keep].astype(str),
            "source": source.name,
            "city": _cities(kept, source),
            "occurred_at_utc": utc[keep],
            "occurred_at_local": local[keep],
            "local_date": local[keep].dt.date,
            "timezone": source.timezone,
            "time_precision": source.timestamp.precision,
            "offense": _per_distinct(raw_category[keep], snake_case).astype(str),
            "category": category[keep].astype(str),
            "lat": lat[keep],
            "lon": lon[keep],
            "h3_r7": cells[7],
            "h3_r8": cells[8],
            "h3_r9": cells[9],
            "quality_flags": flags.to_numpy(),
            "_batch_id": batch_id,
            "_loaded_at": pd.Timestamp(loaded_at).tz_convert("UTC"),
            "_row_hash": row_hash[keep].to_numpy(),
        }
    )
    for column in source.keep_columns:
        values = kept[column].astype(object).where(kept[column].notna(), None)
        treatment = source.personal_data.get(column)
        if treatment == "drop":
            continue
        if treatment:
            domain = source.pseudonym_domain(column)
            protected = [protect(v, treatment, pseudonym_key, column, domain) for v in values]
            values = [value for value, _ in protected]
            column_flags = [flag for _, flag in protected]
            if any(column_flags):
                flags = silver["quality_flags"]
                silver["quality_flags"] = [
                    ";".join(part for part in (old, new) if part)
                    for old, new in zip(flags, column_flags, strict=True)
                ]
        silver[column] = values if treatment else values.to_numpy()
    return Standardised(
        silver=silver.reset_index(drop=True), rejects=rejects.reset_index(drop=True)
    )
