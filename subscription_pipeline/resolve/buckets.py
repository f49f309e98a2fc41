"""The plan of a resolution in hash buckets, kept in the warehouse so a crash can resume it.

A bucket is the vectors with hash(channel, contact) % buckets = bucket. Each bucket is written
and committed on its own (engine.py, or fan_out.py's loader), so DuckDB frees its temporaries
at its commit, and it clears only its own vectors from dirty_vectors in that transaction.
`resolution_buckets` lists the plan's buckets not yet written: an interrupted run leaves them
there and the next run writes them first, with the same bucket count. The analysts' copy is
published only after a whole resolution (api_snapshot), so they never see a half-written plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from subscription_pipeline.resolve.sql import ENGINE


@dataclass(frozen=True)
class Plan:
    buckets: int
    rebuild: bool  # every vector of each bucket, or only its queued dirty ones
    remaining: tuple[int, ...]
    queued: int = 0  # dirty_vectors rows when the plan was made or its last bucket written


def pending_plan(con: duckdb.DuckDBPyConnection) -> Plan | None:
    """The buckets an interrupted resolution left to write, or None."""
    rows = ENGINE.run(con, "plan_read")
    if not rows:
        return None
    _, count, rebuild, queued = rows[0]
    return Plan(count, rebuild, tuple(bucket for bucket, *_ in rows), queued)


def record(con: duckdb.DuckDBPyConnection, plan: Plan) -> Plan:
    """Store a plan of several buckets (a single bucket is one transaction: nothing to resume)."""
    if plan.buckets > 1:
        ENGINE.run(con, "plan_buckets", {"buckets": plan.buckets, "rebuild": plan.rebuild})
        return pending_plan(con) or plan
    return plan


def bucket_written(con: duckdb.DuckDBPyConnection, plan: Plan, bucket: int) -> None:
    """In the bucket's transaction: clear its dirty vectors and strike it off the plan."""
    if plan.buckets == 1:
        ENGINE.run(con, "clear_dirty_queue")
        return
    ENGINE.run(con, "clear_dirty_bucket", {"buckets": plan.buckets, "bucket": bucket})
    ENGINE.run(con, "plan_bucket_written", {"bucket": bucket})
    ENGINE.run(con, "plan_queued")


def has_dirty(con: duckdb.DuckDBPyConnection) -> bool:
    [(rows,)] = ENGINE.run(con, "dirty_rows")
    return rows > 0
