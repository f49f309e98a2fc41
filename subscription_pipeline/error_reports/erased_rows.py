"""An error report re-reads its upload, which still names erased contacts: blank them there.

The rows concerned are those with a suppressed part, and those whose rejection was redacted
because it named an erased contact (erasure/). Their identifier cells are blanked in every
line of the report, so the report says SUPPRESSED without repeating the address.
"""

from __future__ import annotations

import duckdb
import polars as pl

from subscription_pipeline.erasure.enforce import REDACTED

_IDENTIFIERS = ("email", "phone")

_ERASED_ROWS_SQL = """
    SELECT DISTINCT row_number FROM suppressed_records
    WHERE source_kind = 'csv' AND partition_key = ? AND row_number IS NOT NULL
    UNION
    SELECT DISTINCT row_number FROM rejections
    WHERE source_kind = 'csv' AND partition_key = ? AND error_message = ?
      AND row_number IS NOT NULL
"""


def erased_rows(con: duckdb.DuckDBPyConnection, file_name: str) -> list[int]:
    rows = con.execute(_ERASED_ROWS_SQL, [file_name, file_name, REDACTED]).fetchall()
    return [row for (row,) in rows]


def blank_erased_identifiers(rows: pl.DataFrame, erased: list[int]) -> pl.DataFrame:
    """The upload's rows with the email and phone cells of the erased rows emptied."""
    if not erased:
        return rows
    targets = [c for c in rows.columns if c.strip().lower() in _IDENTIFIERS]
    hit = pl.col("row_number").is_in(erased)
    return rows.with_columns(
        pl.when(hit).then(pl.lit(None, dtype=pl.String)).otherwise(pl.col(c)).alias(c)
        for c in targets
    )
