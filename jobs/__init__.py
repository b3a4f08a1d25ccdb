"""Boljam batch jobs: ingestion, standardisation, Delta I/O, Spark sessions, marts, reports."""
