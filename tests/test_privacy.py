"""Personal data: IIN check digits, E.164 phones, keyed pseudonyms, and nothing in clear."""

import json

import pytest
from deltalake import DeltaTable

from jobs.privacy import PseudonymKeyError, is_valid_iin, load_key, normalise_phone, protect

KEY = b"k" * 32


@pytest.mark.parametrize(
    ("iin", "valid"),
    [
        # 9,0,0,1,0,1,3,0,0,0,0,1 weighted 1..11: 9+0+0+4+0+6+21+0+0+0+0 = 40, 40 % 11 = 7.
        ("900101300007", True),
        ("900101300008", False),
        # 0,0,0,0,0,0,0,0,0,0,1 with 1..11 gives 11 % 11 = 0.
        ("000000000010", True),
        ("90010130000", False),
        ("90010130000a", False),
    ],
)
def test_iin_check_digit(iin, valid):
    assert is_valid_iin(iin) is valid


def test_iin_second_weights_when_first_gives_ten():
    # First 11 digits 0,...,0,1,0: weights 1..11 give 10, so the second weights apply,
    # where the tenth position weighs 1: the check digit is 1.
    assert is_valid_iin("000000000101") is True
    assert is_valid_iin("000000000100") is False


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+7 (701) 234-56-78", "+77012345678"),
        ("8 701 234 56 78", "+77012345678"),
        ("7012345678", "+77012345678"),
        ("87012345678", "+77012345678"),
        ("12345", None),
        ("+44 20 7946 0958", None),
    ],
)
def test_phone_normalised_to_e164(raw, expected):
    assert normalise_phone(raw) == expected


def test_one_phone_in_two_forms_gets_one_pseudonym():
    first, _ = protect("+7 (701) 234-56-78", "phone", KEY, "phone")
    second, _ = protect("87012345678", "phone", KEY, "phone")
    assert first == second
    assert first.startswith("ps_")


def test_invalid_iin_is_flagged_but_never_clear():
    value, flag = protect("900101300008", "iin", KEY, "client_iin")
    assert flag == "invalid_iin:client_iin"
    assert "900101300008" not in value


def test_same_value_in_two_fields_differs():
    assert protect("Asel", "pseudonymise", KEY, "victim")[0] != protect(
        "Asel", "pseudonymise", KEY, "suspect")[0]


def test_missing_key_is_an_error(monkeypatch):
    monkeypatch.delenv("BOLJAM_PSEUDONYM_KEY", raising=False)
    with pytest.raises(PseudonymKeyError, match="BOLJAM_PSEUDONYM_KEY"):
        load_key()


def test_silver_and_rejects_hold_no_clear_value(tmp_profile, tmp_path, monkeypatch):
    import sqlite3

    import yaml

    from jobs.ingest.run import ingest_source

    source = {
        "kind": "sql", "description": "Fraud reports with personal data.",
        "connection": {"url_env": "BOLJAM_PII_URL"}, "table": "reports",
        "primary_key": "report_id", "watermark": "report_id", "city": "almaty",
        "timezone": "Asia/Almaty",
        "timestamp": {"columns": ["at"], "format": "%Y-%m-%d %H:%M", "zone": "local",
                      "precision": "minute"},
        "coordinates": {"x": "lon", "y": "lat"},
        "area": {"lon_min": 76.7, "lat_min": 43.1, "lon_max": 77.2, "lat_max": 43.4},
        "category": {"column": "kind", "mapping": {"fraud": "fraud"}},
        "personal_data": {"iin": "iin", "phone": "phone", "name": "pseudonymise",
                          "address": "pseudonymise"},
        "keep_columns": ["iin", "phone", "name", "address"],
    }
    catalogue = tmp_path / "sources.yml"
    catalogue.write_text(yaml.safe_dump({"sources": {"pii": source}}), encoding="utf-8")
    monkeypatch.setenv("BOLJAM_SOURCES", str(catalogue))
    db = tmp_path / "pii.sqlite"
    monkeypatch.setenv("BOLJAM_PII_URL", f"sqlite:///{db}")
    clear = [
        (1, "2025-05-01 10:00", "fraud", 76.9, 43.25, "900101300007", "+7 701 234 56 78",
         "Нұрлан Әбенов", "Абай көшесі 50"),
        (2, "2025-05-01 11:00", "fraud", 0.0, 0.0, "900101300008", "8 777 111 22 33",
         "Иван Петров", "ул. Ленина 1"),
    ]
    with sqlite3.connect(db) as connection:
        connection.execute(
            "create table reports (report_id integer primary key, at text, kind text, lon real,"
            " lat real, iin text, phone text, name text, address text)"
        )
        connection.executemany("insert into reports values (?, ?, ?, ?, ?, ?, ?, ?, ?)", clear)

    ingest_source("pii")

    silver = DeltaTable(str(tmp_profile.table_path("silver", "pii"))).to_pyarrow_table()
    rejects = DeltaTable(str(tmp_profile.table_path("silver", "rejects"))).to_pyarrow_table()
    dumped = json.dumps(silver.to_pylist() + rejects.to_pylist(), default=str, ensure_ascii=False)
    for row in clear:
        for value in row[5:]:
            assert value not in dumped
    assert "7012345678" not in dumped
    assert silver.num_rows == 1
    assert rejects.num_rows == 1
