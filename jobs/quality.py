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

from jobs.settings import Profile, load_profile
from jobs.sources import Source, get_source

logger = logging.getLogger(__name__)

MIN_ROWS = 1


class QualityGateError(RuntimeError):
    """A silver table failed its expectation suite."""


@dataclass
class QualityResult:
    source: str
    success: bool
    evaluated: int
    failed: list[dict]
    data_docs: str | None


def build_expectations(source: Source, now: datetime | None = None) -> list:
    """Return the expectations for the silver table of ``source``."""
    import great_expectations as gx

    now = now or datetime.now(UTC)
    if source.record_type == "record":
        expectations = [
            gx.expectations.ExpectTableRowCountToBeBetween(min_value=MIN_ROWS),
            gx.expectations.ExpectColumnValuesToNotBeNull(column="record_id"),
            gx.expectations.ExpectColumnValuesToBeUnique(column="record_id"),
        ]
        if source.relative_dates:
            expectations.append(
                gx.expectations.ExpectColumnValuesToNotBeNull(column=source.relative_dates.output)
            )
        return expectations
    area = source.area
    categories = sorted(set(source.category.mapping.values()))
    return [
        gx.expectations.ExpectTableRowCountToBeBetween(min_value=MIN_ROWS),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="incident_id"),
        gx.expectations.ExpectColumnValuesToBeUnique(column="incident_id"),
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="lat", min_value=area.lat_min, max_value=area.lat_max
        ),
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="lon", min_value=area.lon_min, max_value=area.lon_max
        ),
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="occurred_at_utc",
            min_value=datetime(1900, 1, 1, tzinfo=UTC),
            max_value=now + timedelta(days=1),
        ),
        gx.expectations.ExpectColumnValuesToBeInSet(column="category", value_set=categories),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="h3_r8"),
    ]


def validate_frame(frame, source: Source, profile: Profile) -> QualityResult:
    """Run the source's suite on a silver frame and build data docs under var/gx."""
    import great_expectations as gx

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
    for expectation in build_expectations(source):
        suite.add_expectation(expectation)
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
    run = checkpoint.run(batch_parameters={"dataframe": frame})
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
    parser.add_argument("--source", required=True, help="source name from conf/sources.yml")


def run(args) -> int:
    validate_source(args.source)
    return 0
