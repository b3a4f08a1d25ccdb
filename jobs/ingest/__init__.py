"""Ingestion: land agency sources into bronze, standardise them into silver."""
