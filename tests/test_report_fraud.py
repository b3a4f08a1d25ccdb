"""The fraud registration section of the report, read from the kz mart in DuckDB."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest
from test_report import GENERATED, SETTINGS, TARGET, gold, lake_profile, parse_report, profile

from jobs.report import write_report
from jobs.reporting.lake import FRAUD_REGISTRATION_MART

# Fixtures of test_report that this module's fixtures build on.
__all__ = ["gold", "lake_profile", "profile"]

# Rows of the mart: (region, week, registered, unregistered, unidentified). Five weeks, so
# the report shows the last four as columns.
MART_ROWS = [
    ("AST", date(2026, 10, 12), 1, 1, 0),
    ("AST", date(2026, 10, 19), 4, 0, 0),
    ("AST", date(2026, 11, 2), 3, 1, 1),
    ("AST", date(2026, 11, 9), 1, 1, 0),
    ("ALA", date(2026, 10, 26), 2, 2, 0),
    ("ALA", date(2026, 11, 9), 0, 0, 2),
]


@pytest.fixture
def fraud_profile(lake_profile, tmp_path):
    """The report's lake profile with a DuckDB marts file that contains the fraud mart."""
    path = tmp_path / "marts" / "boljam.duckdb"
    path.parent.mkdir(parents=True)
    frame = pd.DataFrame(
        [
            {
                "region_code": region,
                "week_start": week,
                "incident_count": registered + unregistered + unidentified,
                "registered_count": registered,
                "unregistered_count": unregistered,
                "unidentified_count": unidentified,
                "unregistered_share": (
                    unregistered / (registered + unregistered)
                    if registered + unregistered
                    else None
                ),
            }
            for region, week, registered, unregistered, unidentified in MART_ROWS
        ]
    )
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema marts")
        connection.register("frame", frame)
        connection.execute(f"create table marts.{FRAUD_REGISTRATION_MART} as select * from frame")
    dbt = lake_profile.dbt.model_copy(update={"duckdb_path": str(path)})
    return lake_profile.model_copy(update={"dbt": dbt})


def test_fraud_share_by_region_and_week(fraud_profile, tmp_path):
    path = write_report(TARGET, tmp_path / "out", fraud_profile, SETTINGS, GENERATED)
    report = parse_report(path)
    html = " ".join(path.read_text(encoding="utf-8").split())

    rows = report.tables["fraud-registration"]
    assert rows[0] == [
        "Region", "Incidents", "Never registered", "Victim unknown", "Share never registered",
        "Oct 19", "Oct 26", "Nov 2", "Nov 9",
    ]  # fmt: skip
    # ALA: 2 of 4 identified never registered; its last week has only unknown victims.
    assert rows[1] == ["ALA", "6", "2", "2", "50%", "–", "50%", "–", "–"]
    # AST: 3 of 12 identified never registered over all five weeks.
    assert rows[2] == ["AST", "13", "3", "1", "25%", "0%", "–", "25%", "50%"]
    # All regions: 5 of 16.
    assert rows[3] == ["All regions", "19", "5", "3", "31.25%", "0%", "50%", "25%", "50%"]
    assert len(rows) == 4
    assert "from October 12, 2026 to November 9, 2026" in html


@pytest.mark.parametrize(
    ("language", "heading", "total_share", "last_week"),
    [
        # CLDR: Russian puts a no-break space before the percent sign, Kazakh does not.
        ("ru", "Регистрация мошенничества", "31,25\xa0%", "9 нояб."),
        ("kk", "Алаяқтықты тіркеу", "31,25%", "9 қар."),
    ],
)
def test_fraud_section_localised(
    fraud_profile, tmp_path, language, heading, total_share, last_week
):
    settings = SETTINGS.model_copy(update={"language": language})
    path = write_report(TARGET, tmp_path / "out", fraud_profile, settings, GENERATED)
    rows = parse_report(path).tables["fraud-registration"]
    assert heading in path.read_text(encoding="utf-8")
    assert rows[0][-1] == last_week
    assert rows[3][4] == total_share


def test_fraud_section_omitted_without_mart(lake_profile, tmp_path):
    dbt = lake_profile.dbt.model_copy(update={"duckdb_path": str(tmp_path / "none.duckdb")})
    without = lake_profile.model_copy(update={"dbt": dbt})
    html = write_report(TARGET, tmp_path / "out", without, SETTINGS, GENERATED).read_text(
        encoding="utf-8"
    )
    assert '<section class="fraud">' not in html
