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
import pyarrow as pa
import pyarrow.compute as pc

from jobs.geo import latlng_to_cell_arrays, to_wgs84
from jobs.ingest import arrow_text as text
from jobs.privacy import protect
from jobs.schemas import H3_RESOLUTIONS, REJECTS, SILVER_INCIDENT_COMMON
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

REASON_CODES = ("", *REASONS)

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)


@dataclass
class Standardised:
    silver: object  # pandas DataFrame in the silver column order
    rejects: object  # pandas DataFrame in the rejects column order


def snake_case(value: str) -> str:
    """Normalise a source category to lower snake case ('Auto Theft' -> 'auto_theft')."""
    return re.sub(r"[^0-9a-z]+", "_", value.strip().lower()).strip("_")


class _Reasons:
    """Reason code per row as an index into REASON_CODES. Code 0 means no reason yet."""

    def __init__(self, rows: int):
        self.codes = np.zeros(rows, dtype=np.int8)

    def set(self, mask, reason: str) -> None:
        self.codes[np.asarray(mask, dtype=bool)] = REASON_CODES.index(reason)

    def set_first(self, mask, reason: str) -> None:
        """Set ``reason`` where ``mask`` is true and no reason is set yet."""
        self.set(np.asarray(mask, dtype=bool) & (self.codes == 0), reason)

    def absent(self) -> np.ndarray:
        return self.codes == 0


def _parse_timestamps(table, source: Source, now: datetime):
    """Return (utc, local, reasons, ambiguous), with utc and local as pandas Series."""
    import pandas as pd

    spec = source.timestamp
    parts = [text.strip(table[column]) for column in spec.columns]
    missing = np.zeros(table.num_rows, dtype=bool)
    for part in parts:
        missing |= text.blank(part)
    joined = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, " ")
    parsed = pd.Series(text.to_datetime(joined, spec.format))
    if spec.zone == "utc":
        utc = parsed.dt.tz_localize("UTC")
        ambiguous = pd.Series(False, index=parsed.index)
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
    reasons = _Reasons(table.num_rows)
    reasons.set(parsed.isna().to_numpy(), "invalid_timestamp")
    reasons.set(missing, "missing_timestamp")
    out_of_range = ((utc < EARLIEST) | (utc > now + timedelta(days=1))).to_numpy()
    reasons.set_first(out_of_range, "timestamp_out_of_range")
    return utc, local, reasons, ambiguous.to_numpy()


def _coordinates(table, source: Source):
    """Return (lat, lon, reasons) with the points in WGS84 degrees."""
    spec, area = source.coordinates, source.area
    raw_x, raw_y = table[spec.x], table[spec.y]
    x = text.to_numeric(raw_x)
    y = text.to_numeric(raw_y)
    lon, lat = to_wgs84(x, y, spec.crs)
    reasons = _Reasons(table.num_rows)
    reasons.set(~(np.isfinite(lon) & np.isfinite(lat)), "invalid_coordinates")
    reasons.set(text.blank(raw_x) | text.blank(raw_y), "missing_coordinates")

    def inside(lon_values, lat_values):
        return (
            (lon_values >= area.lon_min)
            & (lon_values <= area.lon_max)
            & (lat_values >= area.lat_min)
            & (lat_values <= area.lat_max)
        )

    checkable = reasons.absent()
    zero = checkable & (x == 0) & (y == 0)
    swapped_lon, swapped_lat = to_wgs84(y, x, spec.crs)
    swapped = checkable & ~zero & ~inside(lon, lat) & inside(swapped_lon, swapped_lat)
    outside = checkable & ~zero & ~swapped & ~inside(lon, lat)
    reasons.set(zero, "zero_coordinates")
    reasons.set(swapped, "swapped_coordinates")
    reasons.set(outside, "out_of_area")
    return lat, lon, reasons


def _category(table, source: Source):
    """Return (raw, category, reasons): the stripped source value and its mapped category."""
    raw = text.strip(table[source.category.column])
    mapping = source.category.mapping
    position = pc.index_in(raw, value_set=pa.array(list(mapping), pa.string()))
    category = pa.array(list(mapping.values()), pa.string()).take(position)
    reasons = _Reasons(table.num_rows)
    reasons.set(category.is_null().to_numpy(zero_copy_only=False), "unknown_category")
    reasons.set(text.blank(raw), "missing_category")
    return raw, category, reasons


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
        return pa.repeat(pa.scalar(source.city, pa.string()), kept.num_rows)
    values = text.strip(kept[source.city_column])
    return pc.if_else(pa.array(text.blank(values)), source.city, values)


def _raw_records(rows, columns, source: Source, key: bytes | None) -> list[str]:
    """Serialise raw rows as JSON with personal fields already pseudonymised."""
    out = []
    for row in rows.select(columns).to_pylist():
        for field, treatment in source.personal_data.items():
            if field in row:
                domain = source.pseudonym_domain(field)
                row[field] = protect(row[field], treatment, key, field, domain)[0]
        out.append(json.dumps(row, ensure_ascii=False, sort_keys=True))
    return out


def _duplicated_keep_last(values) -> np.ndarray:
    """Return True where a later row has the same value (nulls equal each other)."""
    indices = pc.dictionary_encode(values, null_encoding="encode").indices.to_numpy()
    _, last_reversed = np.unique(indices[::-1], return_index=True)
    last = np.zeros(len(indices), dtype=bool)
    last[len(indices) - 1 - last_reversed] = True
    return ~last


def _duplicated_keep_first(values, among: np.ndarray) -> np.ndarray:
    """Return True where an earlier row of ``among`` has the same value."""
    rows = np.flatnonzero(among)
    indices = pc.dictionary_encode(values.take(pa.array(rows))).indices.to_numpy()
    _, first = np.unique(indices, return_index=True)
    repeated = np.ones(len(rows), dtype=bool)
    repeated[first] = False
    result = np.zeros(len(among), dtype=bool)
    result[rows[repeated]] = True
    return result


class KnownHashes:
    """Content hashes already in silver, each with the key of its row.

    A hash stored more than once maps to its last key, as a dict built in row order would.
    """

    def __init__(self, hashes=None, keys=None):
        self.hashes = pa.array([] if hashes is None else hashes, pa.string())
        self.keys = pa.array([] if keys is None else keys, pa.string())

    @classmethod
    def from_dict(cls, known: dict[str, str] | None) -> KnownHashes:
        known = known or {}
        return cls(list(known), list(known.values()))

    def add(self, hashes, keys) -> None:
        self.hashes = pa.concat_arrays([self.hashes, text.as_text(hashes)])
        self.keys = pa.concat_arrays([self.keys, text.as_text(keys)])

    def owners(self, hashes) -> pa.Array:
        """Return the key holding each hash, or null for a hash not stored."""
        # index_in returns the first match, so search the reversed arrays for the last one.
        position = pc.index_in(hashes, value_set=self.hashes[::-1])
        return self.keys[::-1].take(position)


def _flags_join(old, new) -> pa.Array:
    """Join two flag columns with ';', leaving out empty parts."""
    joined = pc.binary_join_element_wise(old, new, ";")
    return pc.if_else(pc.equal(old, ""), new, pc.if_else(pc.equal(new, ""), old, joined))


def _protect_column(values, treatment: str, key: bytes | None, column: str, domain: str):
    """Apply a personal-data treatment once per distinct value and return (values, flags)."""
    encoded = pc.dictionary_encode(text.as_text(values))
    protected = [
        protect(value, treatment, key, column, domain) for value in encoded.dictionary.to_pylist()
    ]
    new_values = pa.array([value for value, _ in protected], pa.string()).take(encoded.indices)
    flags = pa.array([flag for _, flag in protected], pa.string()).take(encoded.indices)
    # A null value has no dictionary entry, and protect() gives it (None, "") anyway.
    return new_values, pc.fill_null(flags, "")


def standardise(
    frame,
    source: Source,
    batch_id: str,
    loaded_at: datetime,
    known_hashes: dict[str, str] | None = None,
    pseudonym_key: bytes | None = None,
    now: datetime | None = None,
) -> Standardised:
    """Type, validate, geocode and pseudonymise one batch of bronze rows (pandas frames).

    The pandas form of ``standardise_table``: ``frame`` contains text columns, ``known_hashes``
    maps content hashes already in silver to their key, and the result contains pandas frames.
    """
    import pandas as pd

    frame = frame.reset_index(drop=True)
    table = pa.table(
        {
            column: pa.array(
                [None if pd.isna(value) else str(value) for value in frame[column]], pa.string()
            )
            for column in frame.columns
        }
    )
    result = standardise_table(
        table,
        source,
        batch_id,
        loaded_at,
        KnownHashes.from_dict(known_hashes),
        pseudonym_key,
        now,
    )
    return Standardised(silver=result.silver.to_pandas(), rejects=result.rejects.to_pandas())


def standardise_table(
    table,
    source: Source,
    batch_id: str,
    loaded_at: datetime,
    known_hashes: KnownHashes | None = None,
    pseudonym_key: bytes | None = None,
    now: datetime | None = None,
) -> Standardised:
    """Type, validate, geocode and pseudonymise one batch of bronze rows (Arrow tables).

    ``table`` contains the bronze text columns and ``_row_hash``. ``known_hashes`` contains the
    content hashes already in silver, so that a row copied under a new key is rejected as
    duplicate_content instead of counted twice. The result contains Arrow tables: silver rows
    (the common columns, then the kept columns as text) and rejects.
    """
    now = now or datetime.now(UTC)
    known_hashes = known_hashes or KnownHashes()
    if source.personal_data and pseudonym_key is None:
        raise ValueError(f"source {source.name} has personal data: pass pseudonym_key")
    rows = table.num_rows
    raw_columns = [c for c in table.column_names if not c.startswith("_")]
    key = text.strip(table[source.primary_key])

    utc, local, time_reasons, ambiguous = _parse_timestamps(table, source, now)
    raw_category, category, category_reasons = _category(table, source)
    lat, lon, coordinate_reasons = _coordinates(table, source)
    reasons = _Reasons(rows)
    reasons.set(text.blank(key), "missing_key")
    # A row keeps the first reason found, in the order key, time, category, coordinates.
    for group in (time_reasons, category_reasons, coordinate_reasons):
        unset = reasons.absent()
        reasons.codes[unset] = group.codes[unset]

    # Within a batch the last row of a key wins; earlier ones are kept as rejects.
    superseded = reasons.absent() & _duplicated_keep_last(key)
    reasons.set(superseded, "duplicate_key_in_batch")
    if source.duplicate_content == "reject":
        valid = reasons.absent()
        row_hash = text.as_text(table["_row_hash"])
        repeated_here = _duplicated_keep_first(row_hash, valid)
        owner = known_hashes.owners(row_hash)
        copy_of_other = valid & pc.fill_null(pc.not_equal(owner, key), False).to_numpy(
            zero_copy_only=False
        )
        reasons.set(repeated_here | copy_of_other, "duplicate_content")

    rejected = ~reasons.absent()
    rejected_rows = pa.array(np.flatnonzero(rejected))
    reason_names = [REASON_CODES[code] for code in reasons.codes[rejected]]
    details = [REASONS[name] for name in reason_names]
    for position, row in enumerate(np.flatnonzero(rejected)):
        if superseded[row]:
            details[position] = "a later row of the same batch has the same key; that row is kept"
    rejects = pa.table(
        {
            "source": pa.repeat(pa.scalar(source.name), len(reason_names)),
            "batch_id": pa.repeat(pa.scalar(batch_id), len(reason_names)),
            "record_key": key.take(rejected_rows),
            "reason_code": pa.array(reason_names, pa.string()),
            "reason_detail": pa.array(details, pa.string()),
            "raw_record": pa.array(
                _raw_records(table.take(rejected_rows), raw_columns, source, pseudonym_key),
                pa.string(),
            ),
            "rejected_at": pa.repeat(
                pa.scalar(loaded_at, pa.timestamp("us", tz="UTC")), len(reason_names)
            ),
        },
        schema=REJECTS,
    )

    keep = ~rejected
    kept_rows = pa.array(np.flatnonzero(keep))
    # Only the columns silver copies: taking every bronze column would copy the chunk.
    needed = {"_row_hash", *source.keep_columns}
    needed.update(c for c in (source.city_column, source.local_hour_column) if c)
    kept = table.select([c for c in table.column_names if c in needed])
    if len(kept_rows) < table.num_rows:
        kept = kept.take(kept_rows)
    count = kept.num_rows
    cells = latlng_to_cell_arrays(lat[keep], lon[keep], H3_RESOLUTIONS)
    flags = np.where(ambiguous[keep], "local_time_ambiguous", "").astype(object)
    kept_local = local[keep]
    if source.local_hour_column:
        stated = text.to_numeric(kept[source.local_hour_column])
        mismatch = ~(stated == kept_local.dt.hour.to_numpy(dtype="float64"))
        flags[mismatch] = [
            ";".join(part for part in (old, "local_hour_mismatch") if part)
            for old in flags[mismatch]
        ]
    quality_flags = pa.array(flags.tolist(), pa.string())

    def constant(value, kind=None):
        return pa.repeat(pa.scalar(value, kind or pa.string()), count)

    columns = {
        "incident_id": key.take(kept_rows),
        "source": constant(source.name),
        "city": _cities(kept, source),
        "occurred_at_utc": pa.array(utc[keep], pa.timestamp("us", tz="UTC")),
        "occurred_at_local": pa.array(kept_local, pa.timestamp("us")),
        "local_date": pc.cast(pa.array(kept_local, pa.timestamp("us")), pa.date32()),
        "timezone": constant(source.timezone),
        "time_precision": constant(source.timestamp.precision),
        "offense": text.per_distinct(raw_category.take(kept_rows), snake_case),
        "category": category.take(kept_rows),
        "lat": pa.array(lat[keep], pa.float64()),
        "lon": pa.array(lon[keep], pa.float64()),
        "h3_r7": cells[7],
        "h3_r8": cells[8],
        "h3_r9": cells[9],
        "quality_flags": quality_flags,
        "_batch_id": constant(batch_id),
        "_loaded_at": constant(loaded_at, pa.timestamp("us", tz="UTC")),
        "_row_hash": text.as_text(kept["_row_hash"]),
    }
    for column in source.keep_columns:
        treatment = source.personal_data.get(column)
        if treatment == "drop":
            continue
        values = text.as_text(kept[column])
        if treatment:
            domain = source.pseudonym_domain(column)
            values, column_flags = _protect_column(values, treatment, pseudonym_key, column, domain)
            columns["quality_flags"] = _flags_join(columns["quality_flags"], column_flags)
        columns[column] = values
    extra = [pa.field(name, pa.string()) for name in list(columns)[len(SILVER_INCIDENT_COMMON) :]]
    schema = pa.schema(list(SILVER_INCIDENT_COMMON) + extra)
    silver = pa.Table.from_arrays([columns[field.name] for field in schema], schema=schema)
    return Standardised(silver=silver, rejects=rejects)
