"""Arrow schemas of the lake tables that several jobs share.

Silver incident tables have the common columns below plus source-specific columns
after them. The dbt staging models, the forecast job and the report read these names.
"""

from __future__ import annotations

import pyarrow as pa

# Common incident taxonomy. Every source maps its own categories onto these values.
TAXONOMY = ("violent", "property", "street", "fraud", "road_traffic", "disorder", "other")

# H3 resolutions stored on every silver incident.
H3_RESOLUTIONS = (7, 8, 9)

LOAD_METADATA = [
    pa.field("_batch_id", pa.string(), nullable=False),
    pa.field("_loaded_at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("_source", pa.string(), nullable=False),
    pa.field("_source_object", pa.string(), nullable=False),
    pa.field("_row_hash", pa.string(), nullable=False),
]

SILVER_INCIDENT_COMMON = pa.schema(
    [
        pa.field("incident_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("city", pa.string(), nullable=False),
        pa.field("occurred_at_utc", pa.timestamp("us", tz="UTC"), nullable=False),
        # Wall-clock time in the source's zone, stored without a zone.
        pa.field("occurred_at_local", pa.timestamp("us"), nullable=False),
        pa.field("local_date", pa.date32(), nullable=False),
        pa.field("timezone", pa.string(), nullable=False),
        # minute, hour or day: how precise the source's timestamp is.
        pa.field("time_precision", pa.string(), nullable=False),
        pa.field("offense", pa.string(), nullable=False),
        pa.field("category", pa.string(), nullable=False),
        pa.field("lat", pa.float64(), nullable=False),
        pa.field("lon", pa.float64(), nullable=False),
        pa.field("h3_r7", pa.string(), nullable=False),
        pa.field("h3_r8", pa.string(), nullable=False),
        pa.field("h3_r9", pa.string(), nullable=False),
        # Semicolon-separated data-quality flags on kept rows; empty when clean.
        pa.field("quality_flags", pa.string(), nullable=False),
        pa.field("_batch_id", pa.string(), nullable=False),
        pa.field("_loaded_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("_row_hash", pa.string(), nullable=False),
    ]
)

REJECTS = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("batch_id", pa.string(), nullable=False),
        pa.field("record_key", pa.string(), nullable=True),
        pa.field("reason_code", pa.string(), nullable=False),
        pa.field("reason_detail", pa.string(), nullable=False),
        # The bronze row as JSON, so that nothing rejected is lost.
        pa.field("raw_record", pa.string(), nullable=False),
        pa.field("rejected_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

GOLD_FORECASTS = pa.schema(
    [
        pa.field("target", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
        # day, week (Monday-Sunday) or month: the length of the forecast period.
        pa.field("period", pa.string(), nullable=False),
        pa.field("period_start", pa.date32(), nullable=False),
        # h3 or region: what area_id names.
        pa.field("unit", pa.string(), nullable=False),
        # The H3 cell id or the region code of the forecast unit.
        pa.field("area_id", pa.string(), nullable=False),
        # area_id again for H3 units, null for region units.
        pa.field("h3_cell", pa.string(), nullable=True),
        pa.field("predicted", pa.float64(), nullable=False),
        pa.field("lower", pa.float64(), nullable=False),
        pa.field("upper", pa.float64(), nullable=False),
        pa.field("risk_rank", pa.int32(), nullable=False),
        # JSON list of {"feature": name, "contribution": value}, largest first.
        pa.field("top_contributions", pa.string(), nullable=False),
        pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

GOLD_BACKTESTS = pa.schema(
    [
        pa.field("target", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("fold", pa.int32(), nullable=False),
        pa.field("period_start", pa.date32(), nullable=False),
        pa.field("method", pa.string(), nullable=False),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
    ]
)
