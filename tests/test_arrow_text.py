"""Arrow text helpers against the Python and pandas functions they replace."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from jobs.ingest.arrow_text import blank, hex_strings, strip, to_datetime, to_numeric


def test_hex_strings_match_python_format():
    values = np.array([0, 1, 0xABCDEF, 2**63 + 5, 2**64 - 1], dtype=np.uint64)
    assert hex_strings(values, 16).to_pylist() == [f"{int(v):016x}" for v in values]


def test_hex_strings_rejects_value_too_wide():
    with pytest.raises(ValueError, match="15 hex digits"):
        hex_strings(np.array([2**60], dtype=np.uint64), 15)


def test_strip_matches_str_strip():
    values = [" a ", "\tb\n", "\u00a0c\u3000", "\x1cd\x1f", "e\u200b", "", None, "  "]
    assert strip(pa.array(values)).to_pylist() == [None if v is None else v.strip() for v in values]
    assert blank(pa.array(values)).tolist() == [v is None or v.strip() == "" for v in values]


def test_to_numeric_matches_pandas():
    values = [
        "1",
        "-95.4373883",
        "55.978257134308954",
        " 1.5",
        "1.5 ",
        "+1",
        "1e5",
        ".5",
        "5.",
        "inf",
        "nan",
        "north",
        "1,5",
        "0x10",
        "",
        None,
        "0.1234567890123456789",
        "123456789012345678901234",
        "-0",
        "007",
    ]
    expected = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(
        dtype="float64"
    )
    np.testing.assert_array_equal(to_numeric(pa.array(values, pa.string())), expected)


def test_to_datetime_matches_pandas():
    cases = {
        "%Y-%m-%d %H:%M:%S": [
            "2024-01-01 10:00:00",
            "2024-1-1 10:00:00",
            "2024-01-01 10:00:00x",
            "2024-02-30 00:00:00",
            "1600-01-01 00:00:00",
            "2300-01-01 00:00:00",
            "1899-12-31 23:00:00",
            "01/02/2010 6am",
            "",
            None,
            "2024-01-01 24:00:00",
            "2024-01-01 10:60:00",
            "2024-01-01 10:00:60",
            "2023-02-29 00:00:00",
            "2024-02-29 00:00:00",
            "２０２４-01-01 10:00:00",
        ],
        "%d %b %Y": ["01 Dec 2025", "1 dec 2025"],
        "%Y.%m.%d": ["2024.01.31", "2024-01-31"],
        "%d/%m/%Y %H %M": ["02/01/2010 14 4", "02/01/2010 14 04", "31/02/2010 10 00"],
        "%Y-%m-%d": ["2016-08-10", "2016-8-10", "2016-08-10 00:00"],
        "%m/%d/%Y": ["1/1/2010", "01/01/2010", "13/01/2010"],
    }
    for fmt, values in cases.items():
        expected = pd.to_datetime(pd.Series(values, dtype=object), format=fmt, errors="coerce")
        result = to_datetime(pa.array(values, pa.string()), fmt)
        np.testing.assert_array_equal(result, expected.to_numpy(dtype="datetime64[ns]"), fmt)


def test_row_hashes_match_pandas_hash():
    from jobs.ingest.bronze import row_hashes

    batch = pa.record_batch(
        {
            "id": ["1", "2", "3", "4", "5"],
            "text": ["x", None, "x", "", "Қазақ"],
            "empty": pa.array([None] * 5, pa.string()),
            "number": ["1.5", "2", "2", "Сегодня", " a "],
        }
    )
    frame = batch.select(["text", "empty", "number"]).to_pandas()
    expected = [
        f"{value:016x}" for value in pd.util.hash_pandas_object(frame, index=False).tolist()
    ]
    assert row_hashes(batch, exclude=("id",)).to_pylist() == expected


def test_row_hashes_of_untyped_column_match_pandas():
    from jobs.ingest.bronze import row_hashes

    batch = pa.record_batch({"nothing": pa.array([None, None]), "text": ["a", "b"]})
    expected = [
        f"{value:016x}"
        for value in pd.util.hash_pandas_object(batch.to_pandas(), index=False).tolist()
    ]
    assert row_hashes(batch).to_pylist() == expected
