"""Forecast report: gold-table reading, map geometry, formatting and templates."""
