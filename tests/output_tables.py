"""Test helpers: the output tables' contract, created and filled by the tests themselves.

The resolution engine writes these tables in production; the export, report and quality tests
fill them here so they do not depend on the engine. The tables themselves are the warehouse's
own (`connect` applies `schema.sql`), so the tests run against the real DDL.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from subscription_pipeline.warehouse.columns import STATE_COLUMNS  # noqa: F401 - re-exported

T0 = datetime(2024, 3, 15, 9, 30)
T1 = datetime(2024, 3, 16, 12, 0)


def state_row(
    channel: str,
    contact: str,
    status: str | None,
    *,
    group: str | None = None,
    source: str | None = "csv",
    locked: bool = False,
    at: datetime = T0,
    user_id: str | None = None,
) -> tuple:
    """One realistic state row: status_at/source/source_ref only when there is a status."""
    ref = None
    if status is not None:
        ref = {
            "csv": "uploads/20240315T093000Z_trade-show.csv:7",
            "event": "segment-logs/src1/1710460800000/a.gz#msg-1",
            "keyword": "segment-logs/src1/1710460800000/a.gz#msg-2",
            "api": "req-42",
            "cascade": "uploads/20240315T093000Z_trade-show.csv:7",
        }[source]
    return (
        channel,
        contact,
        group,
        status,
        at if status else None,
        source if status else None,
        ref,
        locked,
        user_id,
        T0,
        at,
    )


def create_state(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """The warehouse's state table holding exactly `rows`."""
    replace_state(con, rows)


def clear_history(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DELETE FROM history_steps")


def replace_state(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """Overwrite the state table's rows, as a resolution run would."""
    con.execute("DELETE FROM subscription_state")
    if rows:
        con.executemany(
            "INSERT INTO subscription_state VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )


def read_table(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    return con.sql(f"SELECT * FROM {table}").pl()  # test-local table names
