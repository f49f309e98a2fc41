"""`stage_inputs`: one step per upload, received day and inbox day, off the warehouse, then one
loading step.

The run's engine decides where the partition steps go: with the Celery or multiprocess executor
they run at once on any worker; only `load_staged_step` takes the `warehouse` pool. The loaded
partitions are recorded as materializations of the `csv_uploads`, `event_logs` and `api_inbox`
assets' partitions, as the ingestion jobs do.
"""

import re

import dagster as dg

from subscription_pipeline.ingest.api_inbox import inbox_has_day
from subscription_pipeline.ingest.ledger_file import publish_ledger
from subscription_pipeline.ingest.log_layout import log_files_for_day
from subscription_pipeline.ingest.staged_inbox import stage_inbox_day
from subscription_pipeline.ingest.staged_load import load_staged
from subscription_pipeline.ingest.staged_logs import stage_log_day
from subscription_pipeline.ingest.staged_uploads import stage_upload
from subscription_pipeline.ingest.upload_files import UPLOADS_DIR
from subscription_pipeline.orchestration.resources import WAREHOUSE_POOL, WarehouseResource

EVENT_LOGS_ASSET = dg.AssetKey("event_logs")
UPLOADS_ASSET = dg.AssetKey("csv_uploads")
INBOX_ASSET = dg.AssetKey("api_inbox")
_NOT_A_KEY_CHARACTER = re.compile(r"[^A-Za-z0-9_]")


def mapping_keys(names: list[str]) -> dict[str, str]:
    """A step key for each name (Dagster allows letters, digits and '_'), distinct even when
    two names differ only by other characters."""
    keys: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        key = base = _NOT_A_KEY_CHARACTER.sub("_", name)
        count = 1
        while key in taken:
            count += 1
            key = f"{base}_{count}"
        taken.add(key)
        keys[name] = key
    return keys


_NAMES = dg.Field([str], default_value=[], is_required=False)
# A partition to stage: (kind, name). One dynamic output for all kinds: Dagster skips whatever
# follows a dynamic output that yields nothing, and the loader must run whatever kinds are new.
UPLOAD, LOG_DAY, INBOX_DAY = "upload", "log", "inbox"


@dg.op(
    out=dg.DynamicOut(tuple),
    config_schema={"uploads": _NAMES, "days": _NAMES, "inbox_days": _NAMES},
)
def partitions_to_stage(context: dg.OpExecutionContext, warehouse: WarehouseResource):
    data_dir = warehouse.data_path()
    config = context.op_config
    for name, key in mapping_keys(config["uploads"]).items():
        path = data_dir / UPLOADS_DIR / name
        if not path.exists() and not path.is_symlink():
            # A partition whose file is gone keeps what it stored; nothing to re-read.
            context.log.warning(f"{UPLOADS_DIR}/{name} does not exist; what it stored is kept")
            continue
        yield dg.DynamicOutput((UPLOAD, name), mapping_key=f"{UPLOAD}_{key}")
    for day in config["days"]:
        # Like the asset, a day without any file has nothing to ingest.
        if log_files_for_day(data_dir, day):
            yield dg.DynamicOutput((LOG_DAY, day), mapping_key=f"{LOG_DAY}_{day.replace('-', '_')}")
    for day in config["inbox_days"]:
        if inbox_has_day(data_dir, day):
            key = f"{INBOX_DAY}_{day.replace('-', '_')}"
            yield dg.DynamicOutput((INBOX_DAY, day), mapping_key=key)


@dg.op
def stage_partition_step(
    context: dg.OpExecutionContext, warehouse: WarehouseResource, partition: tuple
) -> tuple:
    """Stage one partition into DATA_DIR/staging; never opens the warehouse."""
    kind, name = partition
    data_dir, settings = warehouse.data_path(), warehouse.ingest_settings()
    if kind == UPLOAD:
        entry = stage_upload(data_dir, name, settings)
        context.log.info(
            f"{entry.source_file}: {entry.status}, {entry.rows_in} rows, {entry.applied} applied, "
            f"{entry.rejected} rejected {entry.error_code or ''}"
        )
    elif kind == LOG_DAY:
        entries = stage_log_day(data_dir, name, settings, warehouse.memory_limit or None)
        context.log.info(
            f"{name}: {len(entries)} files staged, {sum(e.rows_in for e in entries)} lines, "
            f"{sum(e.rejected for e in entries)} rejected"
        )
    else:
        entry = stage_inbox_day(data_dir, name)
        context.log.info(f"inbox {name}: {entry.rows_in} entries staged")
    return partition


@dg.op(pool=WAREHOUSE_POOL)
def load_staged_step(
    context: dg.OpExecutionContext,
    warehouse: WarehouseResource,
    staged: list[tuple],
) -> None:
    # Loads every complete staged partition, these steps' and any a crashed run left.
    with warehouse.connection() as con:
        loaded = load_staged(con, warehouse.data_path())
        # What is new is decided from this file (orchestration/pending.py).
        publish_ledger(con, warehouse.warehouse_path())
    context.log.info(f"loaded {loaded.partitions} staged partitions in one transaction")
    for entry in loaded.uploads:
        context.log_event(
            dg.AssetMaterialization(asset_key=UPLOADS_ASSET, partition=entry.partition_key)
        )
    for day in loaded.log_days:
        context.log_event(dg.AssetMaterialization(asset_key=EVENT_LOGS_ASSET, partition=day))
    for entry in loaded.inbox_days:
        day = entry.partition_key.removeprefix("api:")
        context.log_event(dg.AssetMaterialization(asset_key=INBOX_ASSET, partition=day))


@dg.job(
    description="Ingest uploads, received days of Segment logs and API inbox days as parallel "
    "steps (staged as Parquet, no warehouse), then load them in one transaction."
)
def stage_inputs() -> None:
    load_staged_step(partitions_to_stage().map(stage_partition_step).collect())
