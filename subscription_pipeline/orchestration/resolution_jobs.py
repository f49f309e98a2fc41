"""`resolve_in_buckets`: the resolution of many dirty vectors as bucket steps on any worker.

The writer exports each bucket's observations (Parquet), the bucket steps replay them without
the warehouse (any number at once, on any worker of the multiprocess or Celery executor), and
the writer loads each bucket in its own transaction (resolve/fan_out.py). Only the first and
the last step take the `warehouse` pool. The `resolve_state` job runs next, as always: its
asset writes whatever is left (a failed bucket step's bucket, vectors queued meanwhile) in
process and records the transitions captured here, the checks, reports and the snapshot.
"""

import dagster as dg

from subscription_pipeline.orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from subscription_pipeline.reconciliation_report import capture_before, capture_pending
from subscription_pipeline.resolve import fan_out
from subscription_pipeline.resolve.engine import FULL_REBUILD_MIN_VECTORS

RESOLVE_IN_BUCKETS_JOB = "resolve_in_buckets"
# Bucket steps of a fan-out when the config does not say: enough for a few workers to share.
DEFAULT_BUCKETS = 4


@dg.op(
    out=dg.DynamicOut(int),
    pool=WAREHOUSE_POOL,
    config_schema={
        "buckets": dg.Field(int, default_value=DEFAULT_BUCKETS),
        "min_vectors": dg.Field(int, default_value=FULL_REBUILD_MIN_VECTORS),
    },
)
def plan_resolution_buckets(context: dg.OpExecutionContext, warehouse: WarehouseResource):
    """Fewer dirty vectors than `min_vectors`: no bucket step (resolve_state does it in one)."""
    with warehouse.connection() as con:
        if not capture_pending(con):
            capture_before(con)  # before any bucket is written, for the report's transitions
        plan = fan_out.plan_fan_out(
            con,
            warehouse.data_path(),
            count=context.op_config["buckets"],
            min_vectors=context.op_config["min_vectors"],
        )
    context.log.info(
        f"{'rebuild' if plan.rebuild else 'dirty vectors'} in {plan.buckets} buckets, "
        f"{len(plan.remaining) if plan.buckets > 1 else 0} bucket steps"
    )
    if plan.buckets > 1:
        for bucket in plan.remaining:
            yield dg.DynamicOutput(bucket, mapping_key=f"bucket_{bucket}")


@dg.op
def resolve_bucket_step(
    context: dg.OpExecutionContext, warehouse: WarehouseResource, bucket: int
) -> int:
    rows = fan_out.compute_bucket(warehouse.data_path(), bucket, warehouse.memory_limit or None)
    context.log.info(f"bucket {bucket} replayed into {rows}")
    return bucket


@dg.op(pool=WAREHOUSE_POOL)
def load_resolution_buckets_step(
    context: dg.OpExecutionContext, warehouse: WarehouseResource, buckets: list[int]
) -> None:
    with warehouse.connection() as con:
        vectors, state_rows, history_rows = fan_out.load_buckets(
            con,
            warehouse.data_path(),
            after_bucket=lambda bucket: context.log.info(f"bucket {bucket} loaded"),
        )
    context.log.info(
        f"loaded {len(buckets)} buckets: {vectors} vectors, {state_rows} state rows, "
        f"{history_rows} history rows"
    )


@dg.job(
    description="Resolve many dirty contact vectors as bucket steps on any worker (no warehouse), "
    "each bucket then written in its own transaction; resolve_state follows."
)
def resolve_in_buckets() -> None:
    load_resolution_buckets_step(plan_resolution_buckets().map(resolve_bucket_step).collect())
