"""The report's own tables, created on demand so a fresh or read-only warehouse still reports."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources

import duckdb


def ensure_report_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the snapshot and transition tables if missing (needs a writable connection)."""
    con.execute(
        resources.files("subscription_pipeline.reconciliation_report")
        .joinpath("schema.sql")
        .read_text()
    )


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """A table or a view (subscription_history is one) of the warehouse's main schema."""
    # fetchall, not fetchone: DuckDB 2 keeps a partly fetched result open on the connection.
    [(found,)] = con.execute(
        "SELECT count(*) FROM (SELECT table_name AS name, schema_name FROM duckdb_tables() "
        "UNION ALL SELECT view_name, schema_name FROM duckdb_views()) "
        "WHERE name = ? AND schema_name = 'main'",
        [name],
    ).fetchall()
    return found > 0


def utc_naive(moment: datetime) -> datetime:
    """The warehouse stores UTC as naive TIMESTAMP: convert aware datetimes, keep naive ones."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)
