"""The demo of a synthetic profile generates its country once per set of parameters."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
import yaml
from conftest import write_profile

from jobs.settings import PROJECT_ROOT

REAL_DATA = PROJECT_ROOT.parent / "shared" / "data" / "real"

pytestmark = pytest.mark.skipif(
    not (REAL_DATA / "kz_places.csv.gz").exists(), reason="gazetteer kz_places.csv.gz missing"
)


def _profile(tmp_path, monkeypatch, incidents: int):
    from jobs.settings import _load_profile_file, load_profile

    settings = yaml.safe_load((PROJECT_ROOT / "conf" / "synth.yaml").read_text("utf-8"))
    settings["start_date"] = dt.date(2024, 1, 1)
    settings["weeks"] = 2
    config = tmp_path / "synth.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    path = write_profile(tmp_path)
    profile = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = tmp_path / "var" / "synth"
    profile["agency_db_dir"] = str(out / "agencies")
    profile["synth"] = {
        "seed": 3,
        "incidents": incidents,
        "out_dir": str(out),
        "config": str(config),
    }
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    monkeypatch.setenv("BOLJAM_PROFILE_FILE", str(path))
    # Profiles are cached by path, and this test rewrites the same file.
    _load_profile_file.cache_clear()
    return load_profile()


def _cases(profile) -> int:
    with sqlite3.connect(profile.agency_dbs / "crime_registry.sqlite") as connection:
        return connection.execute("select count(*) from criminal_cases").fetchone()[0]


def test_synthesise_skips_same_parameters(tmp_path, monkeypatch):
    from jobs.demo import synthesise

    profile = _profile(tmp_path, monkeypatch, 1000)
    first = synthesise(profile)
    manifest = profile.path(profile.synth.out_dir) / "manifest.json"
    written = manifest.stat().st_mtime_ns
    assert first["crime_registry.criminal_cases"] == _cases(profile)
    second = synthesise(profile)
    assert second == first
    assert manifest.stat().st_mtime_ns == written


def test_synthesise_regenerates_and_clears_lake(tmp_path, monkeypatch):
    from jobs.demo import synthesise

    small = _profile(tmp_path, monkeypatch, 1000)
    synthesise(small)
    small.lake.mkdir(parents=True)
    (small.lake / "stale").write_text("from the old country", encoding="utf-8")
    large = _profile(tmp_path, monkeypatch, 2000)
    counts = synthesise(large)
    assert counts["crime_registry.criminal_cases"] == _cases(large)
    assert counts["crime_registry.criminal_cases"] > 0
    assert not large.lake.exists()
