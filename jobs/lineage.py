"""Airflow assets that link the pipeline's DAGs: a DAG runs when the tables it reads change."""

from __future__ import annotations


def asset_uri(layer: str, name: str) -> str:
    """Return the asset URI of a lake table, independent of where the profile puts the lake."""
    return f"file:///boljam/lake/{layer}/{name}"


SILVER_ASSET_PREFIX = "silver_"
MARTS_ASSET = ("marts", "file:///boljam/marts/duckdb")
GOLD_FORECASTS_ASSET = ("gold_forecasts", asset_uri("gold", "forecasts"))
