"""Ingestion assets: each partition (an upload, a received day) becomes stored observations."""

import warnings
from collections.abc import Iterator

import dagster as dg

from subscription_pipeline.ingest.api_inbox import inbox_has_day, ingest_inbox_day
from subscription_pipeline.ingest.csv_upload import UPLOADS_DIR, ingest_upload
from subscription_pipeline.ingest.ledger_file import publish_ledger
from subscription_pipeline.ingest.log_prefetch import ingest_log_days
from subscription_pipeline.orchestration.automation import INBOX_OPENS
from subscription_pipeline.orchestration.partition_records import (
    PartitionRecorder,
    ledger_metadata,
)
from subscription_pipeline.orchestration.partitions import (
    inbox_day_partitions,
    log_day_partitions,
    upload_partitions,
)
from subscription_pipeline.orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from subscription_pipeline.orchestration.tags import DATA_TEAM, asset_tags


def ingestion_asset(
    partitions_def: dg.PartitionsDefinition,
    kinds: set[str],
    description: str,
    check: tuple[str, str, str] | None = None,
    automation_condition: dg.AutomationCondition | None = None,
):
    """One partition per input unit, a backfill range in one run, and the warehouse's one writer.

    `check`: (asset, name, description) of the per-partition check that flags a rejected, empty or
    missing input (a warning: the night goes on, the partition shows what went wrong).
    """
    return dg.asset(
        partitions_def=partitions_def,
        pool=WAREHOUSE_POOL,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="ingestion",
        kinds=kinds,
        owners=[DATA_TEAM],
        tags=asset_tags("ingestion", pii=True),
        description=description,
        check_specs=[partition_check(check, partitions_def)] if check else None,
        automation_condition=automation_condition,
    )


def partition_check(check: tuple[str, str, str], partitions_def) -> dg.AssetCheckSpec:
    # Partitioned checks are a preview in Dagster 1.13: the warning says nothing to a user.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(
            check[1], asset=check[0], description=check[2], partitions_def=partitions_def
        )


UPLOAD_CHECK = "upload_accepted"
LOG_DAY_CHECK = "day_has_accepted_logs"


@ingestion_asset(
    upload_partitions,
    {"duckdb", "csv"},
    "Engage CSV uploads in data/uploads, validated and stored as observations.",
    check=(
        "csv_uploads",
        UPLOAD_CHECK,
        "The upload was read and accepted (not rejected as a whole, not missing, not empty).",
    ),
)
def csv_uploads(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.AssetCheckEvaluation | dg.MaterializeResult]:
    data_dir = warehouse.data_path()
    settings = warehouse.ingest_settings()
    checks = PartitionRecorder(context, UPLOAD_CHECK)
    with warehouse.connection() as con:
        for file_name in context.partition_keys:
            path = data_dir / UPLOADS_DIR / file_name
            if not path.exists() and not path.is_symlink():
                # A partition whose file is gone keeps what it stored; nothing to re-read.
                missing = f"{UPLOADS_DIR}/{file_name} does not exist; what it stored is kept"
                context.log.warning(missing)
                yield from checks.record(file_name, [], missing)
                continue
            entry = ingest_upload(con, data_dir, file_name, settings)
            context.log.info(
                f"{entry.source_file}: {entry.status}, {entry.rows_in} rows, "
                f"{entry.applied} applied, "
                f"{entry.rejected} rejected {entry.error_code or ''}"
            )
            yield from checks.record(file_name, [entry])
        publish_ledger(con, warehouse.warehouse_path())
    yield dg.MaterializeResult(check_results=[checks.result()])


@ingestion_asset(
    log_day_partitions,
    {"duckdb", "json"},
    "Segment S3 event logs by received day (UTC), de-duplicated by messageId.",
    check=(
        "event_logs",
        LOG_DAY_CHECK,
        "The received day has log files and none was rejected as a whole "
        "(a warning on a day without data makes 'no data that day' visible).",
    ),
)
def event_logs(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.AssetCheckEvaluation | dg.MaterializeResult]:
    data_dir = warehouse.data_path()
    settings = warehouse.ingest_settings()
    checks = PartitionRecorder(context, LOG_DAY_CHECK)
    with warehouse.connection() as con:
        for day, day_entries in ingest_log_days(con, data_dir, context.partition_keys, settings):
            if day_entries is None:
                # Recorded, not skipped: the partition then says "no data that day".
                yield from checks.record(day, [])
                continue
            context.log.info(f"{day}: {len(day_entries)} files")
            yield from checks.record(day, day_entries)
        publish_ledger(con, warehouse.warehouse_path())
    yield dg.MaterializeResult(check_results=[checks.result()])


@ingestion_asset(
    inbox_day_partitions,
    {"duckdb", "sqlite"},
    "Requests accepted by the API service (data/inbox), by day of acceptance (UTC).",
    automation_condition=INBOX_OPENS,
)
def api_inbox(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    data_dir = warehouse.data_path()
    with warehouse.connection() as con:
        for day in context.partition_keys:
            # A day without requests is normal for the inbox: recorded with zero entries.
            entries = [ingest_inbox_day(con, data_dir, day)] if inbox_has_day(data_dir, day) else []
            context.log.info(f"inbox {day}: {sum(e.rows_in for e in entries)} entries")
            context.add_asset_metadata(ledger_metadata(entries), partition_key=day)
        publish_ledger(con, warehouse.warehouse_path())
    return dg.MaterializeResult()
