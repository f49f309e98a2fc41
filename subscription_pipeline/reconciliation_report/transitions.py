"""Exact state changes of a run: the state of the vectors about to be resolved, captured
before the resolution, compared with the state after it.

Only the vectors queued in `dirty_vectors` are captured (the ones the resolution rebuilds), so
the cost follows the size of the run, not of the state. A full rebuild captures everything.
Call `capture_before` right before the resolution and `record_transitions` right after it,
with the same `run_at` as `record_snapshot`.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from subscription_pipeline.reconciliation_report.tables import (
    ensure_report_tables,
    table_exists,
    utc_naive,
)
from subscription_pipeline.warehouse.connection import transaction

_COUNT_SCHEMA = {
    "channel": pl.String,
    "subscription_group": pl.String,
    "change": pl.String,
    "contacts": pl.Int64,
}


_CAPTURE_TABLES = ("state_before_vectors", "state_before", "state_before_scope")
# The state rows a run may change: all of them for a full rebuild, else the captured vectors'.
_SCOPED_STATE = """
SELECT s.channel, s.contact, s.subscription_group, s.status, s.locked
FROM subscription_state s
WHERE $full_rebuild
UNION ALL
SELECT s.channel, s.contact, s.subscription_group, s.status, s.locked
FROM subscription_state s
SEMI JOIN state_before_vectors v ON v.channel = s.channel AND v.contact = s.contact
"""


class CaptureMissingError(RuntimeError):
    """record_transitions was called without a capture_before for this run."""


def capture_pending(con: duckdb.DuckDBPyConnection) -> bool:
    """A capture not yet consumed by record_transitions: the resolution in bucket steps
    (orchestration/resolution_jobs.py) captured before writing, the state asset compares."""
    if not table_exists(con, "state_before_scope"):
        return False
    [(captures,)] = con.execute("SELECT count(*) FROM state_before_scope").fetchall()
    return captures > 0


def capture_before(con: duckdb.DuckDBPyConnection, *, full_rebuild: bool = False) -> int:
    """Copy the current state of the dirty vectors (or of all, for a full rebuild).

    Returns the number of state rows captured. Opens its own transaction.
    """
    with transaction(con):
        ensure_report_tables(con)
        _clear_capture(con)
        if not full_rebuild:
            con.execute(
                "INSERT INTO state_before_vectors "
                "SELECT DISTINCT channel, contact FROM dirty_vectors"
            )
        if table_exists(con, "subscription_state"):
            con.execute("INSERT INTO state_before " + _SCOPED_STATE, {"full_rebuild": full_rebuild})
        con.execute("INSERT INTO state_before_scope VALUES (?, now()::TIMESTAMP)", [full_rebuild])
        [(captured,)] = con.execute("SELECT count(*) FROM state_before").fetchall()
    return int(captured)


def _clear_capture(con: duckdb.DuckDBPyConnection) -> None:
    for table in _CAPTURE_TABLES:
        con.execute(f"DELETE FROM {table}")  # names from the tuple above


def record_transitions(con: duckdb.DuckDBPyConnection, run_at: datetime) -> int:
    """Store every captured state row whose status or lock changed; returns how many.

    A row that appears with no status is a registration, not a transition. The capture is
    consumed, so a later run cannot compare against a stale one. Opens its own transaction.
    """
    run_at = utc_naive(run_at)
    with transaction(con):
        ensure_report_tables(con)
        scope = con.execute("SELECT full_rebuild FROM state_before_scope").fetchall()
        if len(scope) != 1:
            raise CaptureMissingError(
                "no captured state to compare with: call capture_before() before the resolution"
            )
        con.execute("DELETE FROM state_transitions WHERE run_at = ?", [run_at])
        con.execute(
            "INSERT INTO state_transitions WITH after AS (" + _SCOPED_STATE + ")"
            """
            SELECT $run_at,
                   coalesce(a.channel, b.channel),
                   coalesce(a.contact, b.contact),
                   coalesce(a.subscription_group, b.subscription_group),
                   b.status, a.status, b.locked, a.locked
            FROM state_before b
            FULL OUTER JOIN after a
              ON a.channel = b.channel AND a.contact = b.contact
             AND a.subscription_group IS NOT DISTINCT FROM b.subscription_group
            WHERE a.status IS DISTINCT FROM b.status
               OR coalesce(a.locked, false) <> coalesce(b.locked, false)
            """,
            {"full_rebuild": scope[0][0], "run_at": run_at},
        )
        [(recorded,)] = con.execute(
            "SELECT count(*) FROM state_transitions WHERE run_at = ?", [run_at]
        ).fetchall()
        _clear_capture(con)
    return int(recorded)


def transition_counts(
    con: duckdb.DuckDBPyConnection, run_at: datetime | None = None
) -> pl.DataFrame:
    """channel, subscription_group, change, contacts for one run (default: the latest).

    `change` is the new status ('subscribed', 'unsubscribed', 'did_not_subscribe', or
    'no_status' when a status disappeared) or 'locked'/'unlocked'; a STOP counts both as
    'unsubscribed' and 'locked'.
    """
    if not table_exists(con, "state_transitions"):
        return pl.DataFrame(schema=_COUNT_SCHEMA)
    return con.sql(
        """
        WITH run AS (
            SELECT * FROM state_transitions
            WHERE run_at = coalesce($run_at, (SELECT max(run_at) FROM state_transitions))
        ),
        changes AS (
            SELECT channel, subscription_group, coalesce(status_after, 'no_status') AS change
            FROM run WHERE status_after IS DISTINCT FROM status_before
            UNION ALL
            SELECT channel, subscription_group,
                   CASE WHEN coalesce(locked_after, false) THEN 'locked' ELSE 'unlocked' END
            FROM run WHERE coalesce(locked_after, false) <> coalesce(locked_before, false)
        )
        SELECT channel, subscription_group, change, count(*)::BIGINT AS contacts
        FROM changes
        GROUP BY ALL
        ORDER BY channel, subscription_group NULLS FIRST, change
        """,
        params={"run_at": utc_naive(run_at) if run_at else None},
    ).pl()
