"""Rejected inputs counted per file and error code."""

from __future__ import annotations

import duckdb
import polars as pl


def rejections_by_code(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """source_file, error_code, rows: the most rejected first, then by file and code."""
    return con.sql(
        """
        SELECT source_file, error_code, count(*)::BIGINT AS rows
        FROM rejections
        GROUP BY ALL
        ORDER BY rows DESC, source_file, error_code
        """
    ).pl()
