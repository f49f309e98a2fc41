"""State counts per run: appended after each resolution, compared run to run."""

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

_CHANGE_SCHEMA = {
    "channel": pl.String,
    "subscription_group": pl.String,
    "status": pl.String,
    "locked": pl.Boolean,
    "previous": pl.Int64,
    "current": pl.Int64,
    "delta": pl.Int64,
}


def record_snapshot(con: duckdb.DuckDBPyConnection, run_at: datetime) -> None:
    """Append the current counts by channel/group/status/lock; re-recording a run_at replaces it.

    Opens its own transaction: call it outside one.
    """
    run_at = utc_naive(run_at)
    with transaction(con):
        ensure_report_tables(con)
        con.execute("DELETE FROM state_snapshots WHERE run_at = ?", [run_at])
        con.execute(
            """
            INSERT INTO state_snapshots
            SELECT ?, channel, subscription_group, status, coalesce(locked, false), count(*)
            FROM subscription_state
            GROUP BY ALL
            """,
            [run_at],
        )


def state_counts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """channel, status (NULL = no status), contacts: channel-level rows of the current state."""
    return con.sql(
        """
        SELECT channel, status, count(*)::BIGINT AS contacts
        FROM subscription_state
        WHERE subscription_group IS NULL
        GROUP BY ALL
        ORDER BY channel, status NULLS LAST
        """
    ).pl()


def last_runs(con: duckdb.DuckDBPyConnection, n: int = 2) -> list[datetime]:
    """The run_at of the latest `n` snapshots, newest first."""
    if not table_exists(con, "state_snapshots"):
        return []
    rows = con.execute(
        "SELECT DISTINCT run_at FROM state_snapshots ORDER BY run_at DESC LIMIT ?", [n]
    ).fetchall()
    return [row[0] for row in rows]


def changes_since_previous(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Net change of contacts per channel/group/status/lock between the last two snapshots.

    Only rows that changed; with a single snapshot everything counts as new (previous = 0).
    These are net counts: 5 new subscribes and 5 unsubscribes of subscribed contacts cancel
    out here, which is why `transition_counts` keeps the exact changes.
    """
    runs = last_runs(con)
    if not runs:
        return pl.DataFrame(schema=_CHANGE_SCHEMA)
    current, previous = runs[0], (runs[1] if len(runs) > 1 else None)
    return con.sql(
        """
        WITH cur AS (SELECT * FROM state_snapshots WHERE run_at = $current),
             prev AS (SELECT * FROM state_snapshots WHERE run_at = $previous)
        SELECT coalesce(cur.channel, prev.channel) AS channel,
               coalesce(cur.subscription_group, prev.subscription_group) AS subscription_group,
               coalesce(cur.status, prev.status) AS status,
               coalesce(cur.locked, prev.locked) AS locked,
               coalesce(prev.contacts, 0)::BIGINT AS previous,
               coalesce(cur.contacts, 0)::BIGINT AS current,
               (coalesce(cur.contacts, 0) - coalesce(prev.contacts, 0))::BIGINT AS delta
        FROM cur FULL OUTER JOIN prev
          ON cur.channel = prev.channel
         AND cur.subscription_group IS NOT DISTINCT FROM prev.subscription_group
         AND cur.status IS NOT DISTINCT FROM prev.status
         AND cur.locked = prev.locked
        WHERE coalesce(cur.contacts, 0) <> coalesce(prev.contacts, 0)
        ORDER BY channel, subscription_group NULLS FIRST, status NULLS LAST, locked
        """,
        params={"current": current, "previous": previous},
    ).pl()
