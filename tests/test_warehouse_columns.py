"""The shared column lists match the tables and views the schema creates, in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from subscription_pipeline.warehouse.columns import (
    HISTORY_COLUMNS,
    HISTORY_STEP_COLUMNS,
    OBSERVATION_COLUMNS,
    RECORD_EVIDENCE_COLUMNS,
    STATE_COLUMNS,
)
from subscription_pipeline.warehouse.connection import connect


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("observations", OBSERVATION_COLUMNS),
        ("record_evidence", RECORD_EVIDENCE_COLUMNS),
        ("subscription_state", STATE_COLUMNS),
        ("history_steps", HISTORY_STEP_COLUMNS),
        ("subscription_history", HISTORY_COLUMNS),
    ],
)
def test_columns_match_the_schema(tmp_path: Path, table: str, columns: tuple[str, ...]) -> None:
    con = connect(tmp_path / "w.duckdb")
    names = [
        name
        for (name,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
            [table],
        ).fetchall()
    ]
    con.close()
    assert tuple(names) == columns
