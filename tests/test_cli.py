"""The boljam command's handling of configuration mistakes."""

from __future__ import annotations

import subprocess
import sys


def run_boljam(*arguments: str, **environment: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "jobs.cli", *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **environment},
        check=False,
    )


def test_unknown_target_one_line_error():
    completed = run_boljam("forecast", "--target", "houston_all_offense")
    assert completed.returncode == 2
    assert "houston_all_offense" in completed.stderr
    assert "not found" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_unknown_profile_one_line_error():
    completed = run_boljam("ingest", "--source", "houston_crime", BOLJAM_PROFILE="no_such_profile")
    assert completed.returncode == 2
    assert "no_such_profile" in completed.stderr
    assert "Traceback" not in completed.stderr
