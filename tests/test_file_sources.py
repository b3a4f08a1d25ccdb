"""File dumps: exactly-once landing, encodings, relative dates and a catalogue of bad files."""

import gzip
import shutil
from datetime import date

import pytest
import yaml
from deltalake import DeltaTable

from jobs.ingest.files import FileFormatError, decode
from jobs.ingest.records import resolve_relative_date
from jobs.ingest.run import ingest_source

KAZAKH = "Алматы қаласы, Абай көшесі: жолдар өте нашар, шұңқырлар көбейіп кетті"
RUSSIAN = "В городе Алматы дороги в ужасном состоянии"
HEADER = "id,text,published\n"

SOURCE = {
    "kind": "files",
    "record_type": "record",
    "description": "Test appeals dump.",
    "landing": "appeals",
    "pattern": "*.csv*",
    "format": "csv",
    "primary_key": "id",
    "required_columns": ["id", "text", "published"],
    "relative_dates": {"column": "published", "output": "published_on",
                       "crawl_date": "2025-12-04"},
}


@pytest.fixture
def landing(tmp_profile, tmp_path, monkeypatch):
    catalogue = tmp_path / "sources.yml"
    catalogue.write_text(yaml.safe_dump({"sources": {"appeals": SOURCE}}), encoding="utf-8")
    monkeypatch.setenv("BOLJAM_SOURCES", str(catalogue))
    folder = tmp_profile.landing / "appeals"
    folder.mkdir(parents=True)
    return folder


def silver(profile):
    table = DeltaTable(str(profile.table_path("silver", "appeals"))).to_pyarrow_table()
    return {row["record_id"]: row for row in table.to_pylist()}


def rejects(profile):
    path = profile.table_path("silver", "rejects")
    return DeltaTable(str(path)).to_pyarrow_table().to_pylist()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Сегодня", date(2025, 12, 4)),
        ("Вчера", date(2025, 12, 3)),
        ("Сегодня, 15:30", date(2025, 12, 4)),
        ("01 декабря 2025", date(2025, 12, 1)),
        ("24 ноября 2024", date(2024, 11, 24)),
        ("2025-11-30", date(2025, 11, 30)),
        ("31 февраля 2025", None),
        ("на днях", None),
    ],
)
def test_relative_dates(text, expected):
    assert resolve_relative_date(text, date(2025, 12, 4)) == expected


def test_bom_and_cp1251_decode_to_same_text():
    assert decode(("\ufeff" + RUSSIAN).encode("utf-8"), "auto").text == RUSSIAN
    assert decode(RUSSIAN.encode("cp1251"), "auto").text == RUSSIAN


def test_mixed_encoding_keeps_kazakh_letters():
    data = KAZAKH.encode("utf-8") + b"\n" + RUSSIAN.encode("cp1251")
    decoded = decode(data, "auto")
    assert decoded.text.splitlines() == [KAZAKH, RUSSIAN]
    assert decoded.cp1251_lines == {2}


def test_identical_file_lands_once_changed_file_again(landing, tmp_profile):
    path = landing / "a.csv"
    path.write_text(HEADER + f'1,"{KAZAKH}",Сегодня\n2,"{RUSSIAN}",Вчера\n', encoding="utf-8")
    first = ingest_source("appeals")
    assert first["bronze"]["rows"] == 2
    rows = silver(tmp_profile)
    assert rows["1"]["text"] == KAZAKH
    assert rows["1"]["published_on"] == date(2025, 12, 4)
    assert rows["2"]["published_on"] == date(2025, 12, 3)

    # Re-dropped with identical bytes under the same name: skipped.
    shutil.copyfile(path, landing / "copy-target.tmp")
    (landing / "copy-target.tmp").replace(path)
    second = ingest_source("appeals")
    assert second["bronze"]["rows"] == 0
    assert second["silver"] == []

    # Changed content: a new batch, and the changed row replaces its older version.
    path.write_text(HEADER + f'1,"{KAZAKH} (updated)",Сегодня\n', encoding="utf-8")
    third = ingest_source("appeals")
    assert third["bronze"]["rows"] == 1
    assert third["silver"][0]["updated"] == 1
    assert silver(tmp_profile)["1"]["text"].endswith("(updated)")


def test_windows_1251_file_with_bom_free_gzip(landing, tmp_profile):
    content = (HEADER + f"7,{RUSSIAN},01 декабря 2025\n").encode("cp1251")
    (landing / "b.csv.gz").write_bytes(gzip.compress(content))
    ingest_source("appeals")
    row = silver(tmp_profile)["7"]
    assert row["text"] == RUSSIAN
    assert row["published_on"] == date(2025, 12, 1)


def test_bad_rows_end_in_rejects(landing, tmp_profile):
    (landing / "c.csv").write_text(
        HEADER
        + "1,ok,Сегодня\n"
        + "2,no date,на днях\n"
        + ",missing key,Вчера\n"
        + "4,too,many,fields\n"
        + "5,dup first,Сегодня\n"
        + "5,dup second,Сегодня\n"
        + "6,truncated",
        encoding="utf-8",
    )
    result = ingest_source("appeals")
    counts = result["silver"][0]
    assert counts["rows_read"] == 7
    assert counts["inserted"] == 2
    assert counts["rejected"] == 5
    reasons = sorted(row["reason_code"] for row in rejects(tmp_profile))
    assert reasons == sorted(
        ["invalid_date", "missing_key", "malformed_row", "duplicate_key_in_batch",
         "malformed_row"]
    )
    assert silver(tmp_profile)["5"]["text"] == "dup second"


def test_empty_and_header_only_files_land_no_rows(landing, tmp_profile):
    (landing / "empty.csv").write_bytes(b"")
    (landing / "header.csv").write_text(HEADER, encoding="utf-8")
    result = ingest_source("appeals")
    assert result["bronze"]["rows"] == 0
    assert len(result["bronze"]["files"]) == 2
    # Both are in the manifest, so the next run skips them.
    assert ingest_source("appeals")["bronze"]["files"] == []


def test_wrong_delimiter_is_a_clear_error(landing):
    (landing / "d.csv").write_text("id;text;published\n1;x;Сегодня\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match="lacks columns.*delimiter"):
        ingest_source("appeals")


def test_truncated_gzip_is_a_clear_error(landing):
    data = gzip.compress((HEADER + "1,x,Сегодня\n" * 200).encode("utf-8"))
    (landing / "e.csv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="truncated"):
        ingest_source("appeals")
