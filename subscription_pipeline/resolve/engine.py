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
from dataclasses import dataclass

import duckdb

from subscription_pipeline.vocabulary import SOURCE_RANK, STATUS_RANK
from subscription_pipeline.warehouse.connection import transaction
from subscription_pipeline.warehouse.sql_file import SqlFile, execute, read_sql

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

_PACKAGE = "subscription_pipeline.resolve"
_ENGINE = SqlFile(_PACKAGE, "engine.sql")


@dataclass(frozen=True)
class ResolutionSummary:
    vectors_resolved: int
    state_rows: int
    history_rows: int
    full: bool  # resolve_all was asked for
    rebuilt_all: bool = False  # every vector was recomputed (resolve_all, or most were dirty)


def _run_file(con: duckdb.DuckDBPyConnection, filename: str) -> None:
    """Run the one statement of a replay file (ordered.sql, history.sql, ...)."""
    execute(con, read_sql(_PACKAGE, filename), _ORDER_PARAMS)


def resolve_pending(
    con: duckdb.DuckDBPyConnection, *, full_rebuild_fraction: float = FULL_REBUILD_FRACTION
) -> ResolutionSummary:
    """Recompute state and history of the vectors in `dirty_vectors` only (from ALL their stored
    effective observations), replace their rows, empty dirty_vectors; one transaction.

    When the dirty vectors are at least `full_rebuild_fraction` of the known ones (and at least
    FULL_REBUILD_MIN_VECTORS), every vector is rebuilt instead: the same rows, fewer joins.
    """
    return _resolve(con, full=False, full_rebuild_fraction=full_rebuild_fraction)


def resolve_all(con: duckdb.DuckDBPyConnection) -> ResolutionSummary:
    """Full rebuild of both tables from effective_observations; empties dirty_vectors; one
    transaction."""
    return _resolve(con, full=True, full_rebuild_fraction=0.0)


def _resolve(
    con: duckdb.DuckDBPyConnection, *, full: bool, full_rebuild_fraction: float
) -> ResolutionSummary:
    with transaction(con):
        _ENGINE.run(con, "dirty_from_queue")
        rebuild_all = full or _mostly_dirty(con, full_rebuild_fraction)
        buckets = _rebuild_buckets(con) if rebuild_all else 1
        if rebuild_all:
            # Every vector is written again below, so no old row is deleted one by one.
            _ENGINE.run(con, "delete_all_state")
            _ENGINE.run(con, "delete_all_history")
        if rebuild_all and buckets == 1:
            _ENGINE.run(con, "vectors_all")
            _ENGINE.run(con, "scope_all")
            vectors, state_rows, history_rows = _replay(con, full=True)
        elif rebuild_all:
            vectors = state_rows = history_rows = 0
            for bucket in range(buckets):
                _ENGINE.run(con, "dirty_of_bucket", {"buckets": buckets, "bucket": bucket})
                _scope_dirty(con)
                counts = _replay(con, full=False)
                vectors, state_rows, history_rows = (
                    a + b for a, b in zip((vectors, state_rows, history_rows), counts, strict=True)
                )
        else:
            _scope_dirty(con)
            _ENGINE.run(con, "delete_dirty_state")
            vectors, state_rows, history_rows = _replay(con, full=False, keep_history=True)
        _ENGINE.run(con, "clear_dirty_queue")
        _ENGINE.run(con, "drop_temporaries")
    return ResolutionSummary(
        vectors_resolved=vectors,
        state_rows=state_rows,
        history_rows=history_rows,
        full=full,
        rebuilt_all=rebuild_all,
    )


def _scope_dirty(con: duckdb.DuckDBPyConnection) -> None:
    """resolution_input: the observations of the vectors in resolution_dirty."""
    for name in ("vectors_dirty", "scope_dirty", "winners_dirty", "input_dirty"):
        _ENGINE.run(con, name)


def _replay(
    con: duckdb.DuckDBPyConnection, *, full: bool, keep_history: bool = False
) -> tuple[int, int, int]:
    """Replay the scope's observations (resolution_input) and insert its history and state.

    With `keep_history`, the scope's stored history rows are replaced only from each vector's
    first changed step (history_changed.sql); otherwise the scope has no stored history rows.
    """
    for filename in ("ordered.sql", "history.sql", "history_rows.sql"):
        _run_file(con, filename)
    if keep_history:
        _ENGINE.run(con, "history_new")
        _run_file(con, "history_changed.sql")
        _ENGINE.run(con, "delete_changed_history")
        _ENGINE.run(con, "insert_changed_history")
    else:
        _ENGINE.run(con, "insert_history")
    _run_file(con, "state.sql")
    return _counts(con, full=full)


def _rebuild_buckets(con: duckdb.DuckDBPyConnection) -> int:
    [(observations, limit)] = _ENGINE.run(con, "observations_and_memory_limit")
    per_bucket = REBUILD_BUCKET_OBSERVATIONS
    if per_bucket is None:
        size = _SIZE.fullmatch(limit.strip())
        limit_mib = float(size.group(1)) * _MIB[size.group(2)] if size else 1024.0
        per_bucket = max(1, int(REBUILD_OBSERVATIONS_PER_MIB * limit_mib))
    return max(1, math.ceil(observations / per_bucket))


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
