"""SilverKeys: when a silver chunk may be appended instead of merged."""

import pyarrow as pa
from deltalake import write_deltalake

from jobs.ingest.silver import SilverKeys


def test_new_table_accepts_new_keys(tmp_path):
    keys = SilverKeys(tmp_path / "silver")
    assert keys.all_new(pa.chunked_array([["a", "b"]]))
    keys.add(pa.chunked_array([["a", "b"]]))
    assert keys.all_new(pa.chunked_array([["c"], ["d"]]))
    assert not keys.all_new(pa.chunked_array([["c", "b"]]))


def test_forgotten_keys_are_unknown(tmp_path):
    keys = SilverKeys(tmp_path / "silver")
    keys.add(pa.chunked_array([["a"]]))
    keys.forget()
    assert not keys.all_new(pa.chunked_array([["z"]]))


def test_table_with_rows_is_never_all_new(tmp_path):
    path = tmp_path / "silver"
    write_deltalake(str(path), pa.table({"incident_id": ["a"]}))
    assert not SilverKeys(path).all_new(pa.chunked_array([["z"]]))
