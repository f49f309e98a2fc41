"""Resolving stored observations into subscription_state and subscription_history (SPEC 3).

The replay is set-based SQL (ordered.sql, history.sql, history_rows.sql, state.sql), run over
a scope: every vector (full rebuild) or the vectors queued in dirty_vectors (incremental). Both
recompute a vector from all its stored observations, so they write identical rows whatever order
the inputs arrived in. resolve_pending takes the full path when most vectors are dirty.
Measurements and profiles: bench/profiles/resolve_*.txt.

Choices where the contract is silent (the reference fold in tests/reference_fold.py agrees):
- a cascade writes one history row per group registered before it, even a group that was
  already unsubscribed (the cascade is applied: it refreshes status_at and source);
- user_id is the vector's last non-NULL user_id in replay order, on its channel and group rows;
  a group row's `locked` is its channel's;
- at equal times a blank observation sorts before the statuses (it only counts for first/last
  seen and user_id); a blank group observation registers nothing at all;
- the STOP lock judges channel-level observations (keywords exist on phone channels only, groups
  on email only).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from subscription_pipeline.resolve import buckets
from subscription_pipeline.resolve.sql import ENGINE as _ENGINE
from subscription_pipeline.resolve.sql import PACKAGE as _PACKAGE
from subscription_pipeline.vocabulary import SOURCE_RANK, STATUS_RANK
from subscription_pipeline.warehouse.connection import transaction
from subscription_pipeline.warehouse.sql_file import execute, read_sql

# Replay order items 2 and 3 as lists ordered by rank: SQL ranks by list position.
_ORDER_PARAMS = {
    "status_order": sorted(STATUS_RANK, key=STATUS_RANK.__getitem__),
    "source_order": sorted(SOURCE_RANK, key=SOURCE_RANK.__getitem__),
}

# Above this share of the known vectors (and this many), resolve_pending rebuilds everything:
# the scoped path's joins then cost more than they save; both paths write identical rows.
FULL_REBUILD_FRACTION = 0.5
FULL_REBUILD_MIN_VECTORS = 10_000
# A full rebuild replays the vectors in hash buckets of at most this many observations per MiB
# of DuckDB's memory limit, each through the scoped path: the replay-order window sorts each of
# its hash partitions in memory, so its need grows with the rows. Measured: 6.2M observations in
# one pass fit 732 MiB (8.5k/MiB) but not 244 MiB (25k/MiB), 1.6M fit 244 MiB (6.6k/MiB), and at
# 50M events 60M observations failed at 732 MiB (bench/profiles/08_rebuild_buckets.txt).
# Vectors are independent, so the tables are the same whatever the buckets.
REBUILD_OBSERVATIONS_PER_MIB = 8_000
REBUILD_BUCKET_OBSERVATIONS: int | None = None  # fixed size instead (tests)
_SIZE = re.compile(r"([\d.]+)\s*(bytes?|KiB|MiB|GiB|TiB)")
_MIB = {"byte": 2**-20, "bytes": 2**-20, "KiB": 2**-10, "MiB": 1, "GiB": 2**10, "TiB": 2**20}


@dataclass(frozen=True)
class ResolutionSummary:
    vectors_resolved: int
    state_rows: int
    history_rows: int
    full: bool  # resolve_all was asked for
    rebuilt_all: bool = False  # every vector was recomputed (resolve_all, or most were dirty)
    buckets: int = 1  # hash buckets of the last plan, each written in its own transaction
    resumed: bool = False  # an interrupted run's remaining buckets were written first


# Called with each bucket's number once its transaction committed (progress logs, tests).
AfterBucket = Callable[[int], None]


def run_file(con: duckdb.DuckDBPyConnection, filename: str) -> None:
    """Run the one statement of a replay file (ordered.sql, history.sql, ...)."""
    execute(con, read_sql(_PACKAGE, filename), _ORDER_PARAMS)


def resolve_pending(
    con: duckdb.DuckDBPyConnection,
    *,
    full_rebuild_fraction: float = FULL_REBUILD_FRACTION,
    buckets: int | None = None,
    after_bucket: AfterBucket | None = None,
) -> ResolutionSummary:
    """Recompute state and history of the vectors in `dirty_vectors` only (from ALL their stored
    effective observations), replace their rows, empty dirty_vectors.

    When the dirty vectors are at least `full_rebuild_fraction` of the known ones (and at least
    FULL_REBUILD_MIN_VECTORS), every vector is rebuilt instead: the same rows, fewer joins.
    One transaction at small scale; a bigger scope is split into hash buckets of vectors, each
    written and committed on its own (resolve/buckets.py), and an interrupted run's remaining
    buckets are written first.
    """
    return _resolve(
        con,
        full=False,
        full_rebuild_fraction=full_rebuild_fraction,
        bucket_count=buckets,
        after_bucket=after_bucket,
    )


def resolve_all(
    con: duckdb.DuckDBPyConnection,
    *,
    buckets: int | None = None,
    after_bucket: AfterBucket | None = None,
) -> ResolutionSummary:
    """Full rebuild of both tables from effective_observations; empties dirty_vectors. One
    transaction, or one per hash bucket when the observations exceed one bucket."""
    return _resolve(
        con, full=True, full_rebuild_fraction=0.0, bucket_count=buckets, after_bucket=after_bucket
    )


def _resolve(
    con: duckdb.DuckDBPyConnection,
    *,
    full: bool,
    full_rebuild_fraction: float,
    bucket_count: int | None,
    after_bucket: AfterBucket | None,
) -> ResolutionSummary:
    """`bucket_count` fixes the number of buckets of a new plan; None sizes them by the memory
    limit (a resumed plan keeps its own)."""
    counts = (0, 0, 0)
    asked_full, rebuilt, resumed = full, False, False
    plan = buckets.pending_plan(con)
    if plan is not None:  # an interrupted run's buckets first: their plan holds
        resumed = True
        counts = add_counts(counts, _write_plan(con, plan, after_bucket))
        rebuilt = plan.rebuild
        full = full and not plan.rebuild
    if plan is None or full or buckets.has_dirty(con):
        plan = new_plan(con, full=full, fraction=full_rebuild_fraction, count=bucket_count)
        counts = add_counts(counts, _write_plan(con, plan, after_bucket))
        rebuilt = rebuilt or plan.rebuild
    vectors, state_rows, history_rows = counts
    return ResolutionSummary(
        vectors_resolved=vectors,
        state_rows=state_rows,
        history_rows=history_rows,
        full=asked_full,
        rebuilt_all=rebuilt,
        buckets=plan.buckets,
        resumed=resumed,
    )


def add_counts(a: tuple[int, int, int], b: tuple[int, int, int]) -> tuple[int, int, int]:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _write_plan(
    con: duckdb.DuckDBPyConnection, plan: buckets.Plan, after_bucket: AfterBucket | None
) -> tuple[int, int, int]:
    counts = (0, 0, 0)
    for bucket in plan.remaining:
        with transaction(con):
            counts = add_counts(counts, _write_bucket(con, plan, bucket))
        if after_bucket is not None:
            after_bucket(bucket)
    return counts


def _write_bucket(
    con: duckdb.DuckDBPyConnection, plan: buckets.Plan, bucket: int
) -> tuple[int, int, int]:
    """Resolve one bucket of `plan` and write it; the caller's transaction commits it."""
    where = {"buckets": plan.buckets, "bucket": bucket}
    if plan.rebuild and plan.buckets == 1:
        # Every vector is written again below, so no old row is deleted one by one.
        for name in ("delete_all_state", "delete_all_history", "vectors_all", "scope_all"):
            _ENGINE.run(con, name)
        counts = replay(con, full=True)
    elif plan.rebuild:
        # The bucket's rows go whole (a vanished vector's too) and its vectors are written again.
        for name in ("dirty_of_bucket", "delete_bucket_state", "delete_bucket_history"):
            _ENGINE.run(con, name, where)
        scope_dirty(con)
        counts = replay(con, full=False)
    else:
        _ENGINE.run(con, "dirty_of_queue_bucket", where)
        scope_dirty(con)
        _ENGINE.run(con, "delete_dirty_state")
        counts = replay(con, full=False, keep_history=True)
    buckets.bucket_written(con, plan, bucket)
    _ENGINE.run(con, "drop_temporaries")
    return counts


def scope_dirty(con: duckdb.DuckDBPyConnection) -> None:
    """resolution_input: the observations of the vectors in resolution_dirty."""
    for name in ("vectors_dirty", "scope_dirty", "winners_dirty", "input_dirty"):
        _ENGINE.run(con, name)


def replay(
    con: duckdb.DuckDBPyConnection, *, full: bool, keep_history: bool = False
) -> tuple[int, int, int]:
    """Replay the scope's observations (resolution_input) and insert its history and state.

    With `keep_history`, the scope's stored history rows are replaced only from each vector's
    first changed step (history_changed.sql); otherwise the scope has no stored history rows.
    """
    for filename in ("ordered.sql", "history.sql", "history_rows.sql"):
        run_file(con, filename)
    if keep_history:
        _ENGINE.run(con, "history_new")
        run_file(con, "history_changed.sql")
        _ENGINE.run(con, "delete_changed_history")
        _ENGINE.run(con, "insert_changed_history")
    else:
        _ENGINE.run(con, "insert_history")
    run_file(con, "state.sql")
    return _counts(con, full=full)


def new_plan(
    con: duckdb.DuckDBPyConnection, *, full: bool, fraction: float, count: int | None = None
) -> buckets.Plan:
    """Rebuild, or only the dirty vectors, in how many buckets (`count`, else by the memory
    limit); stored when more than one."""
    with transaction(con):
        _ENGINE.run(con, "dirty_from_queue")
        rebuild = full or _mostly_dirty(con, fraction)
        if count is None:
            count = _rebuild_buckets(con) if rebuild else _dirty_buckets(con)
        plan = buckets.record(con, buckets.Plan(count, rebuild, tuple(range(count))))
        _ENGINE.run(con, "drop_temporaries")
    return plan


def _rebuild_buckets(con: duckdb.DuckDBPyConnection) -> int:
    [(observations, limit)] = _ENGINE.run(con, "observations_and_memory_limit")
    return max(1, math.ceil(observations / _bucket_observations(limit)))


def _dirty_buckets(con: duckdb.DuckDBPyConnection) -> int:
    """Buckets for the dirty vectors' share of the observations (an estimate: no join)."""
    [(observations, limit)] = _ENGINE.run(con, "observations_and_memory_limit")
    [(dirty,)] = _ENGINE.run(con, "dirty_count")
    [(known,)] = _ENGINE.run(con, "known_vectors")
    share = observations * min(1.0, dirty / max(known, 1))
    return max(1, math.ceil(share / _bucket_observations(limit)))


def _bucket_observations(limit: str) -> int:
    """Observations per bucket under DuckDB's memory limit `limit` ('732.4 MiB')."""
    per_bucket = REBUILD_BUCKET_OBSERVATIONS
    if per_bucket is None:
        size = _SIZE.fullmatch(limit.strip())
        limit_mib = float(size.group(1)) * _MIB[size.group(2)] if size else 1024.0
        per_bucket = max(1, int(REBUILD_OBSERVATIONS_PER_MIB * limit_mib))
    return per_bucket


def _mostly_dirty(con: duckdb.DuckDBPyConnection, fraction: float) -> bool:
    """Do the dirty vectors make up at least `fraction` of the known ones (and enough of them)?"""
    [(dirty,)] = _ENGINE.run(con, "dirty_count")
    if dirty < FULL_REBUILD_MIN_VECTORS and fraction > 0:
        return False
    [(known,)] = _ENGINE.run(con, "known_vectors")
    return dirty >= fraction * max(known, 1)


def _counts(con: duckdb.DuckDBPyConnection, *, full: bool) -> tuple[int, int, int]:
    """(vectors resolved, state rows, history rows) of this run's scope."""
    [(vectors,)] = _ENGINE.run(con, "vectors_replayed" if full else "dirty_count")
    [(state_rows, history_rows)] = _ENGINE.run(con, "rows_written")
    return vectors, state_rows, history_rows
