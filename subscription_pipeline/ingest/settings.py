"""Limits and defaults of ingestion, passed in by the caller (CLI flags or a Dagster resource)."""

from __future__ import annotations

from dataclasses import dataclass

from subscription_pipeline.normalize import DEFAULT_REGION


@dataclass(frozen=True)
class IngestSettings:
    default_region: str = DEFAULT_REGION
    max_rows: int = 1_000_000
    max_bytes: int = 100 * 1024 * 1024
    # An event timestamp this far after receivedAt is clamped to receivedAt.
    future_tolerance_seconds: int = 300
