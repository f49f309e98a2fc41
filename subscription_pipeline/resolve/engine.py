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
from importlib import resources

import duckdb

from subscription_pipeline.vocabulary import SOURCE_RANK, STATUS_RANK
from subscription_pipeline.warehouse.columns import HISTORY_COLUMNS
from subscription_pipeline.warehouse.connection import transaction

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

# Every vector gets an integer id for the run, so the replay's sorts and joins never compare
# contact strings; the scope's observations carry it as `vid`.
_VECTORS_ALL = """
CREATE OR REPLACE TEMP TABLE resolution_vectors AS
SELECT row_number() OVER () AS vid, channel, contact
FROM (SELECT DISTINCT channel, contact FROM observations)
"""
_VECTORS_DIRTY = """
CREATE OR REPLACE TEMP TABLE resolution_vectors AS
SELECT row_number() OVER () AS vid, channel, contact FROM resolution_dirty
"""
_SCOPE_ALL = """
CREATE OR REPLACE TEMP VIEW resolution_input AS
SELECT o.*, v.vid FROM effective_observations o
JOIN resolution_vectors v ON v.channel = o.channel AND v.contact = o.contact
"""
# The dirty vectors' observations first, then the de-duplication of only their messages: the
# window of message_winners is partitioned by message_id, so as a statement of its own the IN
# filter is pushed below it instead of ranking every log line (inside the bigger query it is
# not). A line's observations carry the line's messageId.
_SCOPE_DIRTY = (
    """
CREATE OR REPLACE TEMP TABLE resolution_scope AS
SELECT o.*, v.vid FROM observations o
JOIN resolution_vectors v ON v.channel = o.channel AND v.contact = o.contact
""",
    """
CREATE OR REPLACE TEMP TABLE resolution_winners AS
SELECT source_file, line_number FROM message_winners
WHERE message_id IN (
    SELECT message_id FROM resolution_scope WHERE source_kind IN ('event', 'keyword')
)
""",
    """
CREATE OR REPLACE TEMP VIEW resolution_input AS
SELECT s.* FROM resolution_scope s
WHERE s.source_kind NOT IN ('event', 'keyword')
UNION ALL
SELECT s.* FROM resolution_scope s
SEMI JOIN resolution_winners w ON w.source_file = s.source_file AND w.line_number = s.row_number
WHERE s.source_kind IN ('event', 'keyword')
""",
)
# history_changed.sql compares every column but the key; the names are code, not data.
_HISTORY_DIFFERS = " OR ".join(
    f"o.{column} IS DISTINCT FROM n.{column}"
    for column in HISTORY_COLUMNS
    if column not in ("channel", "contact", "replay_step")
)
_TEMP_OBJECTS = (
    "DROP VIEW IF EXISTS resolution_input",
    "DROP TABLE IF EXISTS resolution_scope",
    "DROP TABLE IF EXISTS resolution_winners",
    "DROP TABLE IF EXISTS resolution_dirty",
    "DROP TABLE IF EXISTS resolution_vectors",
    "DROP TABLE IF EXISTS resolution_ordered",
    "DROP TABLE IF EXISTS resolution_steps",
    "DROP TABLE IF EXISTS resolution_history_new",
    "DROP TABLE IF EXISTS resolution_history_from",
)


@dataclass(frozen=True)
class ResolutionSummary:
    vectors_resolved: int
    state_rows: int
    history_rows: int
    full: bool  # resolve_all was asked for
    rebuilt_all: bool = False  # every vector was recomputed (resolve_all, or most were dirty)


def _sql(name: str) -> str:
    return resources.files("subscription_pipeline.resolve").joinpath(name).read_text()


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
        con.execute(
            "CREATE OR REPLACE TEMP TABLE resolution_dirty AS "
            "SELECT DISTINCT channel, contact FROM dirty_vectors"
        )
        rebuild_all = full or _mostly_dirty(con, full_rebuild_fraction)
        buckets = _rebuild_buckets(con) if rebuild_all else 1
        if rebuild_all:
            # Every vector is written again below, so no old row is deleted one by one.
            con.execute("DELETE FROM subscription_state")
            con.execute("DELETE FROM subscription_history")
        if rebuild_all and buckets == 1:
            con.execute(_VECTORS_ALL)
            con.execute(_SCOPE_ALL)
            vectors, state_rows, history_rows = _replay(con, full=True)
        elif rebuild_all:
            vectors = state_rows = history_rows = 0
            for bucket in range(buckets):
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE resolution_dirty AS "
                    "SELECT DISTINCT channel, contact FROM observations "
                    "WHERE hash(channel, contact) % ? = ?",
                    [buckets, bucket],
                )
                _scope_dirty(con)
                counts = _replay(con, full=False)
                vectors, state_rows, history_rows = (
                    a + b for a, b in zip((vectors, state_rows, history_rows), counts, strict=True)
                )
        else:
            _scope_dirty(con)
            # A vector whose observations are all gone keeps no rows.
            con.execute(
                "DELETE FROM subscription_state t USING resolution_dirty d "
                "WHERE t.channel = d.channel AND t.contact = d.contact"
            )
            vectors, state_rows, history_rows = _replay(con, full=False, keep_history=True)
        con.execute("DELETE FROM dirty_vectors")
        for statement in _TEMP_OBJECTS:
            con.execute(statement)
    return ResolutionSummary(
        vectors_resolved=vectors,
        state_rows=state_rows,
        history_rows=history_rows,
        full=full,
        rebuilt_all=rebuild_all,
    )


def _scope_dirty(con: duckdb.DuckDBPyConnection) -> None:
    """resolution_input: the observations of the vectors in resolution_dirty."""
    con.execute(_VECTORS_DIRTY)
    for statement in _SCOPE_DIRTY:
        con.execute(statement)


def _replay(
    con: duckdb.DuckDBPyConnection, *, full: bool, keep_history: bool = False
) -> tuple[int, int, int]:
    """Replay the scope's observations (resolution_input) and insert its history and state.

    With `keep_history`, the scope's stored history rows are replaced only from each vector's
    first changed step (history_changed.sql); otherwise the scope has no stored history rows.
    """
    con.execute(_sql("ordered.sql"), _ORDER_PARAMS)
    con.execute(_sql("history.sql"))
    if keep_history:
        _replace_changed_history(con)
    else:
        con.execute("INSERT INTO subscription_history " + _sql("history_rows.sql"))
    con.execute(_sql("state.sql"))
    return _counts(con, full=full)


def _replace_changed_history(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE resolution_history_new AS " + _sql("history_rows.sql")
    )
    con.execute(_sql("history_changed.sql").replace("{differs}", _HISTORY_DIFFERS))
    con.execute(
        "DELETE FROM subscription_history t USING resolution_history_from f "
        "WHERE t.channel = f.channel AND t.contact = f.contact "
        "AND t.replay_step >= f.first_changed"
    )
    con.execute(
        "INSERT INTO subscription_history SELECT n.* FROM resolution_history_new n "
        "JOIN resolution_history_from f ON f.channel = n.channel AND f.contact = n.contact "
        "WHERE n.replay_step >= f.first_changed"
    )


def _rebuild_buckets(con: duckdb.DuckDBPyConnection) -> int:
    [(observations, limit)] = con.execute(
        "SELECT count(*), current_setting('memory_limit') FROM observations"
    ).fetchall()
    per_bucket = REBUILD_BUCKET_OBSERVATIONS
    if per_bucket is None:
        size = _SIZE.fullmatch(limit.strip())
        limit_mib = float(size.group(1)) * _MIB[size.group(2)] if size else 1024.0
        per_bucket = max(1, int(REBUILD_OBSERVATIONS_PER_MIB * limit_mib))
    return max(1, math.ceil(observations / per_bucket))


def _mostly_dirty(con: duckdb.DuckDBPyConnection, fraction: float) -> bool:
    """Do the dirty vectors make up at least `fraction` of the known ones (and enough of them)?"""
    (dirty,) = con.execute("SELECT count(*) FROM resolution_dirty").fetchone()
    if dirty < FULL_REBUILD_MIN_VECTORS and fraction > 0:
        return False
    (known,) = con.execute(
        "SELECT count(*) FROM subscription_state WHERE subscription_group IS NULL"
    ).fetchone()
    return dirty >= fraction * max(known, 1)


def _counts(con: duckdb.DuckDBPyConnection, *, full: bool) -> tuple[int, int, int]:
    """(vectors resolved, state rows, history rows) of this run's scope."""
    vectors_sql = (
        "SELECT count(DISTINCT vid) FROM resolution_ordered"
        if full
        else "SELECT count(*) FROM resolution_dirty"
    )
    (vectors,) = con.execute(vectors_sql).fetchone()
    state_rows, history_rows = con.execute(
        """
        SELECT
            -- state.sql: a channel row per vector, plus a row per registered group
            (SELECT count(DISTINCT vid) FROM resolution_ordered)
                + (SELECT count(DISTINCT (vid, subscription_group)) FROM resolution_ordered
                   WHERE subscription_group IS NOT NULL),
            (SELECT count(*) FROM resolution_steps)
        """
    ).fetchone()
    return vectors, state_rows, history_rows
