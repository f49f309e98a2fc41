"""Ingestion assets: each partition (an upload, a received day) becomes stored observations."""

import dagster as dg

from subscription_pipeline.ingest.api_inbox import inbox_has_day, ingest_inbox_day
from subscription_pipeline.ingest.csv_upload import UPLOADS_DIR, ingest_upload
from subscription_pipeline.ingest.event_logs import ingest_log_day, log_files_for_day
from subscription_pipeline.ingest.store import LedgerEntry
from subscription_pipeline.orchestration.partitions import (
    inbox_day_partitions,
    log_day_partitions,
    upload_partitions,
)
from subscription_pipeline.orchestration.resources import WAREHOUSE_POOL, WarehouseResource


def ledger_metadata(entries: list[LedgerEntry]) -> dict[str, dg.MetadataValue]:
    """Counts a person looks for first, plus the per-file accounting as a markdown table."""
    totals = {
        field: sum(getattr(entry, field) for entry in entries)
        for field in (
            "rows_in",
            "applied",
            "ignored",
            "duplicate",
            "rejected",
            "suppressed",
            "warnings",
        )
    }
    lines = [
        "| file | status | rows in | applied | ignored | duplicate | rejected | error |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {e.source_file} | {e.status} | {e.rows_in} | {e.applied} | {e.ignored} | "
        f"{e.duplicate} | {e.rejected} | {e.error_code or ''} |"
        for e in entries[:200]
    ]
    return {
        "files": dg.MetadataValue.int(len(entries)),
        "files_rejected": dg.MetadataValue.int(sum(e.status == "rejected" for e in entries)),
        **{name: dg.MetadataValue.int(value) for name, value in totals.items()},
        "accounting_balanced": dg.MetadataValue.bool(all(e.balanced for e in entries)),
        "ledger": dg.MetadataValue.md("\n".join(lines)),
    }


def ingestion_asset(partitions_def: dg.PartitionsDefinition, kinds: set[str], description: str):
    """One partition per input unit, a backfill range in one run, and the warehouse's one writer."""
    return dg.asset(
        partitions_def=partitions_def,
        pool=WAREHOUSE_POOL,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="ingestion",
        kinds=kinds,
        description=description,
    )


@ingestion_asset(
    upload_partitions,
    {"duckdb", "csv"},
    "Engage CSV uploads in data/uploads, validated and stored as observations.",
)
def csv_uploads(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    data_dir = warehouse.data_path()
    settings = warehouse.ingest_settings()
    entries: list[LedgerEntry] = []
    with warehouse.connection() as con:
        for file_name in context.partition_keys:
            path = data_dir / UPLOADS_DIR / file_name
            if not path.exists() and not path.is_symlink():
                # A partition whose file was removed keeps what it stored; nothing to re-read.
                context.log.warning(
                    f"upload {file_name} is no longer in {UPLOADS_DIR}/; kept as stored"
                )
                continue
            entry = ingest_upload(con, data_dir, file_name, settings)
            context.log.info(
                f"{entry.source_file}: {entry.status}, {entry.rows_in} rows, "
                f"{entry.applied} applied, "
                f"{entry.rejected} rejected {entry.error_code or ''}"
            )
            entries.append(entry)
    return dg.MaterializeResult(metadata=ledger_metadata(entries))


@ingestion_asset(
    log_day_partitions,
    {"duckdb", "json"},
    "Segment S3 event logs by received day (UTC), de-duplicated by messageId.",
)
def event_logs(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    data_dir = warehouse.data_path()
    settings = warehouse.ingest_settings()
    entries: list[LedgerEntry] = []
    with warehouse.connection() as con:
        for day in context.partition_keys:
            # A backfill over a range of days skips the days that have no files at all.
            if not log_files_for_day(data_dir, day):
                continue
            day_entries = ingest_log_day(con, data_dir, day, settings)
            context.log.info(f"{day}: {len(day_entries)} files")
            entries.extend(day_entries)
    return dg.MaterializeResult(metadata=ledger_metadata(entries))


@ingestion_asset(
    inbox_day_partitions,
    {"duckdb", "sqlite"},
    "Requests accepted by the API service (data/inbox), by day of acceptance (UTC).",
)
def api_inbox(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    data_dir = warehouse.data_path()
    entries: list[LedgerEntry] = []
    with warehouse.connection() as con:
        for day in context.partition_keys:
            if not inbox_has_day(data_dir, day):
                continue
            entry = ingest_inbox_day(con, data_dir, day)
            context.log.info(f"{entry.source_file}: {entry.rows_in} entries")
            entries.append(entry)
    return dg.MaterializeResult(metadata=ledger_metadata(entries))
