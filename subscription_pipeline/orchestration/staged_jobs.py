"""`stage_event_logs`: one step per received day, off the warehouse, then one loading step.

The run's engine decides where the day steps go: with the Celery or multiprocess executor they
run at once on any worker; only `load_staged_log_days` takes the `warehouse` pool. The loaded
days are recorded as materializations of the `event_logs` asset's partitions, as the
ingest_event_logs job does.
"""

import dagster as dg

from subscription_pipeline.ingest.log_layout import log_files_for_day
from subscription_pipeline.ingest.staging import load_staged_log_days, stage_log_day
from subscription_pipeline.orchestration.resources import WAREHOUSE_POOL, WarehouseResource

EVENT_LOGS_ASSET = dg.AssetKey("event_logs")


@dg.op(out=dg.DynamicOut(str), config_schema={"days": [str]})
def log_days_to_stage(context: dg.OpExecutionContext, warehouse: WarehouseResource):
    data_dir = warehouse.data_path()
    for day in context.op_config["days"]:
        # Like the asset, a day without any file has nothing to ingest.
        if log_files_for_day(data_dir, day):
            yield dg.DynamicOutput(day, mapping_key=day.replace("-", "_"))


@dg.op
def stage_log_day_step(
    context: dg.OpExecutionContext, warehouse: WarehouseResource, day: str
) -> str:
    entries = stage_log_day(
        warehouse.data_path(), day, warehouse.ingest_settings(), warehouse.memory_limit or None
    )
    context.log.info(
        f"{day}: {len(entries)} files staged, {sum(e.rows_in for e in entries)} lines, "
        f"{sum(e.rejected for e in entries)} rejected"
    )
    return day


@dg.op(pool=WAREHOUSE_POOL)
def load_staged_log_days_step(
    context: dg.OpExecutionContext, warehouse: WarehouseResource, days: list[str]
) -> None:
    with warehouse.connection() as con:
        loaded = load_staged_log_days(con, warehouse.data_path())
    context.log.info(f"loaded {len(loaded)} staged days in one transaction")
    for day in loaded:
        context.log_event(dg.AssetMaterialization(asset_key=EVENT_LOGS_ASSET, partition=day))


@dg.job(
    description="Ingest received days of Segment logs as parallel steps (staged as Parquet, "
    "no warehouse), then load them in one transaction."
)
def stage_event_logs() -> None:
    load_staged_log_days_step(log_days_to_stage().map(stage_log_day_step).collect())
