"""Vectorised text helpers over Arrow string arrays, with the results of their Python or
pandas counterparts.

Each helper computes with Arrow the values whose result provably equals the slow path's.
It sends the remaining values to the slow path, so silver standardisation gives the same
rows as the pandas code it replaced.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The characters that Python's str.strip() removes: exactly those where str.isspace().
# Unicode 15 has none above U+3000 (IDEOGRAPHIC SPACE), so the scan stops there.
PYTHON_WHITESPACE = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())

_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)

# Decimals that both Arrow's cast and pandas.to_numeric parse to the same float64: at most
# 15 digits, so that the value is exact before one rounding. pandas parses longer numbers
# with an error of up to one unit in the last place, so those take the pandas path.
_SHORT_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"
_SHORT_DECIMAL_MAX_LENGTH = 16

# pandas parses timestamps to nanoseconds, which cover 1677-09-21 to 2262-04-11, so values
# of the Arrow path outside these years go to pandas, which makes them NaT.
_NANOSECOND_SAFE_YEARS = (1678, 2261)


def hex_strings(values, width: int) -> pa.StringArray:
    """Format unsigned 64-bit integers as lowercase hex of ``width`` digits (1-16).

    Equal to ``f"{value:0{width}x}"`` for values below 16**width; larger values raise
    ValueError because their leading digits would be cut.
    """
    values = np.ascontiguousarray(values, dtype=np.uint64)
    if width < 16 and values.size and int(values.max()) >> (4 * width):
        raise ValueError(f"a value does not fit in {width} hex digits: {int(values.max()):x}")
    octets = values.astype(">u8").view(np.uint8).reshape(-1, 8)
    digits = np.empty((len(values), 16), dtype=np.uint8)
    digits[:, 0::2] = _HEX_DIGITS[octets >> 4]
    digits[:, 1::2] = _HEX_DIGITS[octets & 0x0F]
    chars = np.ascontiguousarray(digits[:, 16 - width :])
    offsets = np.arange(0, (len(values) + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        len(values), pa.py_buffer(offsets), pa.py_buffer(chars.tobytes())
    )


def as_text(values) -> pa.Array:
    """Return ``values`` (Arrow array or chunked array) as one string array."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    return values


def strip(values) -> pa.Array:
    """Strip surrounding whitespace as str.strip() does; nulls stay null."""
    return pc.utf8_trim(as_text(values), characters=PYTHON_WHITESPACE)


def blank(values) -> np.ndarray:
    """Return True where ``values`` is null or only whitespace."""
    stripped = strip(values)
    return pc.fill_null(pc.equal(stripped, ""), True).to_numpy(zero_copy_only=False)


def per_distinct(values, function) -> pa.Array:
    """Apply ``function`` (str -> str) once per distinct value of ``values``; nulls stay null."""
    encoded = pc.dictionary_encode(as_text(values))
    mapped = pa.array([function(value) for value in encoded.dictionary.to_pylist()], pa.string())
    return mapped.take(encoded.indices)


def to_numeric(values) -> np.ndarray:
    """Parse text to float64 as ``pandas.to_numeric(errors="coerce")`` does; NaN if invalid."""
    import pandas as pd

    text = as_text(values)
    short = pc.and_(
        pc.match_substring_regex(text, _SHORT_DECIMAL),
        pc.less_equal(pc.utf8_length(text), _SHORT_DECIMAL_MAX_LENGTH),
    )
    short = pc.fill_null(short, False)
    result = pc.cast(pc.if_else(short, text, None), pa.float64())
    result = pc.fill_null(result, np.nan).to_numpy(zero_copy_only=False).copy()
    rest = np.flatnonzero(
        ~short.to_numpy(zero_copy_only=False) & text.is_valid().to_numpy(zero_copy_only=False)
    )
    if rest.size:
        slow = pd.Series(text.take(pa.array(rest)).to_pylist(), dtype=object)
        result[rest] = pd.to_numeric(slow, errors="coerce").to_numpy(dtype="float64")
    return result


def _fixed_width_layout(fmt: str):
    """Return (regex, fields) of the zero-padded text of ``fmt``, or None.

    ``fields`` lists (offset in characters, width, Arrow component function) per field.
    Only formats of
    %Y, %m, %d, %H, %M, %S and literal characters have such a layout.
    """
    pattern, fields, offset, position = "^", [], 0, 0
    while position < len(fmt):
        if fmt[position] == "%":
            field = fmt[position : position + 2]
            if field not in _FIELD_WIDTHS:
                return None
            width, component = _FIELD_WIDTHS[field]
            pattern += f"[0-9]{{{width}}}"
            fields.append((offset, width, component))
            offset, position = offset + width, position + 2
        else:
            pattern += re.escape(fmt[position])
            offset, position = offset + 1, position + 1
    return pattern + "$", fields


_FIELD_WIDTHS = {
    "%Y": (4, pc.year),
    "%m": (2, pc.month),
    "%d": (2, pc.day),
    "%H": (2, pc.hour),
    "%M": (2, pc.minute),
    "%S": (2, pc.second),
}


def to_datetime(text, fmt: str) -> np.ndarray:
    """Parse text to naive datetime64[ns] as ``pandas.to_datetime(format=fmt, errors="coerce")``.

    Arrow parses the values first. A value counts only when it is the zero-padded text of
    ``fmt`` and every field of the parsed time equals its digits (Arrow would roll
    2024-02-30 over to March, pandas rejects it), inside the years that pandas' nanoseconds
    cover. Every other non-null value is parsed by pandas.
    """
    import pandas as pd

    text = as_text(text)
    result = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    pending = text.is_valid().to_numpy(zero_copy_only=False)
    layout = _fixed_width_layout(fmt)
    if len(text) and layout is not None:
        pattern, fields = layout
        parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
        year = pc.year(parsed)
        exact = pc.and_(
            pc.match_substring_regex(text, pattern),
            pc.and_(
                pc.greater_equal(year, _NANOSECOND_SAFE_YEARS[0]),
                pc.less_equal(year, _NANOSECOND_SAFE_YEARS[1]),
            ),
        )
        for offset, width, component in fields:
            digits = pc.utf8_slice_codeunits(text, offset, offset + width)
            stated = pc.cast(pc.if_else(exact, digits, None), pa.int64())
            exact = pc.and_(exact, pc.equal(component(parsed), stated))
        exact = pc.fill_null(exact, False).to_numpy(zero_copy_only=False)
        seconds = parsed.to_numpy(zero_copy_only=False)
        result[exact] = seconds[exact].astype("datetime64[ns]")
        pending &= ~exact
    rest = np.flatnonzero(pending)
    if rest.size:
        slow = pd.Series(text.take(pa.array(rest)).to_pylist(), dtype=object)
        parsed = pd.to_datetime(slow, format=fmt, errors="coerce")
        result[rest] = parsed.to_numpy(dtype="datetime64[ns]")
    return result
