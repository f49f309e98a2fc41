"""The Dagster metadata preview of a query: its first rows in order, as a markdown table."""

from __future__ import annotations

import duckdb

from subscription_pipeline.orchestration.previews import PREVIEW_ROWS, table_preview


def test_preview_keeps_the_first_rows_in_order() -> None:
    con = duckdb.connect()
    preview = table_preview(
        con, "SELECT i, 'row ' || i AS label FROM range(1000) t(i) ORDER BY i DESC"
    )
    lines = preview.value.splitlines()
    assert lines[0] == "| i | label |"
    assert len(lines) == 2 + PREVIEW_ROWS
    assert lines[2] == "| 999 | row 999 |"
    assert lines[-1] == f"| {1000 - PREVIEW_ROWS} | row {1000 - PREVIEW_ROWS} |"


def test_preview_of_no_rows() -> None:
    assert table_preview(duckdb.connect(), "SELECT 1 AS x WHERE false").value == "_no rows_"
