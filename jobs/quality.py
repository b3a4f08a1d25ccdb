"""Great Expectations quality gate for the silver incident tables.

The suite of each source is generated from its catalogue entry: keys unique and not null,
points inside the source's area, timestamps in a plausible window, categories from the
mapping, and a row-count floor. A failed suite raises QualityGateError, which fails the
Airflow task and so stops the forecast and report tasks downstream of it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jobs.settings import CONF_DIR, Profile, load_profile
from jobs.sources import Source, get_source, load_catalogue

logger = logging.getLogger(__name__)

MIN_ROWS = 1
EARLIEST_EVENT_TIME = datetime(1900, 1, 1, tzinfo=UTC)
SUITE_DIR = CONF_DIR / "expectations"


class QualityGateError(RuntimeError):
    """A silver table failed its expectation suite."""


@dataclass
class QualityResult:
    source: str
    success: bool
    evaluated: int
    failed: list[dict]
    data_docs: str | None


def generate_suite(source: Source) -> dict:
    """Return the expectation suite of a source's silver table, generated from its entry.

    The plausible time window is given by two suite parameters, filled in at run time:
    ``earliest_event_time`` (1900-01-01) and ``latest_event_time`` (now plus one day).
    """
    def expectation(kind: str, **kwargs) -> dict:
        return {"type": kind, "kwargs": kwargs}

    key = "record_id" if source.record_type == "record" else "incident_id"
    expectations = [
        expectation("expect_table_row_count_to_be_between", min_value=MIN_ROWS),
        expectation("expect_column_values_to_not_be_null", column=key),
        expectation("expect_column_values_to_be_unique", column=key),
    ]
    if source.record_type == "record":
        if source.relative_dates:
            expectations.append(
                expectation(
                    "expect_column_values_to_not_be_null", column=source.relative_dates.output
                )
            )
    else:
        area = source.area
        expectations += [
            expectation(
                "expect_column_values_to_be_between",
                column="lat", min_value=area.lat_min, max_value=area.lat_max,
            ),
            expectation(
                "expect_column_values_to_be_between",
                column="lon", min_value=area.lon_min, max_value=area.lon_max,
            ),
            expectation(
                "expect_column_values_to_be_between",
                column="occurred_at_utc",
                min_value={"$PARAMETER": "earliest_event_time"},
                max_value={"$PARAMETER": "latest_event_time"},
            ),
            expectation(
                "expect_column_values_to_be_in_set",
                column="category", value_set=sorted(set(source.category.mapping.values())),
            ),
            expectation("expect_column_values_to_not_be_null", column="h3_r8"),
        ]
    return {"name": f"silver_{source.name}", "expectations": expectations}


def suite_path(source: Source) -> Path:
    return SUITE_DIR / f"silver_{source.name}.json"


def load_suite(source: Source) -> dict:
    """Return the suite kept in conf/expectations, or the generated one when none is kept."""
    path = suite_path(source)
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return generate_suite(source)


def write_suites(catalogue=None) -> list[Path]:
    """Write the generated suite of every catalogue source to conf/expectations/."""
    catalogue = catalogue or load_catalogue()
    SUITE_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for source in catalogue.sources.values():
        path = suite_path(source)
        document = json.dumps(generate_suite(source), indent=2, ensure_ascii=False)
        path.write_text(document + "\n", encoding="utf-8")
        written.append(path)
    return written


def validate_frame(frame, source: Source, profile: Profile) -> QualityResult:
    """Run the source's suite on a silver frame and build data docs under var/gx."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    context = gx.get_context(mode="file", project_root_dir=str(profile.var))
    data_source = context.data_sources.add_or_update_pandas("silver")
    asset_name = f"silver_{source.name}"
    try:
        asset = data_source.get_asset(asset_name)
    except LookupError:
        asset = data_source.add_dataframe_asset(asset_name)
    try:
        batch_definition = asset.get_batch_definition("whole_table")
    except KeyError:
        batch_definition = asset.add_batch_definition_whole_dataframe("whole_table")
    suite = gx.ExpectationSuite(name=asset_name)
    for item in load_suite(source)["expectations"]:
        configuration = ExpectationConfiguration(type=item["type"], kwargs=item["kwargs"])
        suite.add_expectation(configuration.to_domain_obj())
    suite = context.suites.add_or_update(suite)
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=asset_name, data=batch_definition, suite=suite)
    )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=asset_name,
            validation_definitions=[validation],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")],
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
        )
    )
    now = datetime.now(UTC)
    run = checkpoint.run(
        batch_parameters={"dataframe": frame},
        expectation_parameters={
            "earliest_event_time": EARLIEST_EVENT_TIME,
            "latest_event_time": now + timedelta(days=1),
        },
    )
    failed = []
    evaluated = 0
    for validation_result in run.run_results.values():
        for item in validation_result.results:
            evaluated += 1
            if not item.success:
                config = item.expectation_config
                failed.append(
                    {
                        "expectation": config.type,
                        "column": config.kwargs.get("column"),
                        "unexpected_count": item.result.get("unexpected_count"),
                        "sample": [
                            str(v) for v in item.result.get("partial_unexpected_list") or []
                        ],
                        "observed": str(item.result.get("observed_value")),
                    }
                )
    sites = context.get_docs_sites_urls()
    docs = sites[0]["site_url"] if sites else None
    return QualityResult(source.name, run.success, evaluated, failed, docs)


def validate_source(name: str, profile: Profile | None = None) -> QualityResult:
    """Validate the silver table of source ``name``; raise QualityGateError when it fails."""
    from deltalake import DeltaTable

    profile = profile or load_profile()
    source = get_source(name)
    path = profile.table_path("silver", source.silver_table)
    if not DeltaTable.is_deltatable(str(path)):
        raise QualityGateError(f"silver table of source {name} not found at {path}")
    frame = DeltaTable(str(path)).to_pandas()
    result = validate_frame(frame, source, profile)
    logger.info(
        "quality gate %s: %s of %s expectations passed; data docs %s",
        name, result.evaluated - len(result.failed), result.evaluated, result.data_docs,
    )
    if not result.success:
        raise QualityGateError(
            f"silver table of source {name} failed {len(result.failed)} expectations: "
            + json.dumps(result.failed, ensure_ascii=False)
        )
    return result


def add_arguments(parser) -> None:
    parser.add_argument("--source", help="source name from conf/sources.yml")
    parser.add_argument(
        "--write-suites",
        action="store_true",
        help="write the generated suite of every source to conf/expectations/ and exit",
    )


def run(args) -> int:
    if args.write_suites:
        for path in write_suites():
            logger.info("wrote %s", path)
        return 0
    if not args.source:
        raise SystemExit("boljam validate: give --source NAME or --write-suites")
    validate_source(args.source)
    return 0
