"""Dagster wiring: thin assets over the pure ingestion, resolution and reporting code."""
