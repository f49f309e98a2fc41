"""The statements of log_parse.sql, by name, run with only the parameters each one uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import duckdb

from subscription_pipeline.warehouse.sql_file import SqlFile

if TYPE_CHECKING:
    import polars as pl

_LOG_PARSE = SqlFile("subscription_pipeline.ingest", "log_parse.sql")


def run(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None) -> None:
    """Execute one named statement that returns no rows (DDL, INSERT, UPDATE)."""
    _LOG_PARSE.run(con, name, params)


def frame(
    con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None
) -> pl.DataFrame:
    """The rows of one named query."""
    return _LOG_PARSE.frame(con, name, params)
