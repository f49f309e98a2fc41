"""Jobs: ingestion per partition kind, then the resolution of what changed."""

from __future__ import annotations

import dagster as dg

from subscription_pipeline.orchestration.partitions import (
    inbox_day_partitions,
    log_day_partitions,
    upload_partitions,
)

ingest_uploads_job = dg.define_asset_job(
    "ingest_uploads",
    selection=dg.AssetSelection.assets("csv_uploads"),
    partitions_def=upload_partitions,
    description="Validate and store CSV uploads (one partition per file).",
)

ingest_logs_job = dg.define_asset_job(
    "ingest_event_logs",
    selection=dg.AssetSelection.assets("event_logs"),
    partitions_def=log_day_partitions,
    description="Validate and store Segment event logs (one partition per received day, UTC).",
)

ingest_inbox_job = dg.define_asset_job(
    "ingest_api_inbox",
    selection=dg.AssetSelection.assets("api_inbox"),
    partitions_def=inbox_day_partitions,
    description="Store the requests the API service accepted (one partition per day, UTC).",
)

resolve_job = dg.define_asset_job(
    "resolve_state",
    selection=dg.AssetSelection.groups("state", "reporting"),
    description="Resolve every changed contact vector, then the error reports and the report.",
)

nightly_job = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.assets("event_logs", "api_inbox")
    | dg.AssetSelection.groups("state", "reporting"),
    partitions_def=log_day_partitions,
    description="The night in one run: the event logs and the API inbox of the chosen days, "
    "then the resolution, its checks, the error reports, the report, the exports and the API "
    "snapshot (held back when a blocking check fails).",
)
