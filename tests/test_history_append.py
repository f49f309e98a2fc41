"""An incremental resolution rewrites a vector's history only from its first changed step.

The rows before it are the same rows (DuckDB rowids unchanged), so a night whose observations
come after the stored ones only appends; the tables still equal the reference fold.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from subscription_pipeline.resolve.engine import resolve_pending
from subscription_pipeline.warehouse.connection import connect
from tests.reference_fold import fold
from tests.resolution_helpers import (
    HISTORY_COLUMNS,
    as_tuples,
    insert_observations,
    obs,
    read_tuples,
)

ANN, BOB = "ann@example.com", "bob@example.com"
FIRST = [
    obs("csv", "email", ANN, "subscribed", datetime(2024, 1, 1, 9), ref="a.csv", row=1),
    obs("csv", "email", ANN, "unsubscribed", datetime(2024, 1, 2, 9), ref="a.csv", row=2),
    obs("csv", "email", BOB, "subscribed", datetime(2024, 1, 1, 9), ref="a.csv", row=3),
    obs("csv", "email", BOB, "subscribed", datetime(2024, 1, 3, 9), ref="a.csv", row=4),
]
# Ann's new observation comes after her stored ones; Bob's arrives late, between his two.
LATER = obs("event", "email", ANN, "subscribed", datetime(2024, 1, 5, 9), ref="evt-1")
LATE = obs("event", "email", BOB, "unsubscribed", datetime(2024, 1, 2, 9), ref="evt-2")


def rowids(con, contact: str) -> dict[int, int]:
    return dict(
        con.execute(
            "SELECT replay_step, rowid FROM history_steps WHERE contact = ?", [contact]
        ).fetchall()
    )


def test_history_is_replaced_from_the_first_changed_step(tmp_path: Path) -> None:
    con = connect(tmp_path / "warehouse.duckdb", threads=1)
    insert_observations(con, FIRST)
    resolve_pending(con)
    ann_before, bob_before = rowids(con, ANN), rowids(con, BOB)
    assert sorted(ann_before) == sorted(bob_before) == [1, 2]

    insert_observations(con, [LATER, LATE])
    summary = resolve_pending(con)
    assert (summary.rebuilt_all, summary.vectors_resolved) == (False, 2)

    ann_after, bob_after = rowids(con, ANN), rowids(con, BOB)
    # Ann: steps 1-2 untouched, step 3 appended.
    assert sorted(ann_after) == [1, 2, 3]
    assert {step: ann_after[step] for step in (1, 2)} == ann_before
    # Bob: step 1 untouched; the late observation is step 2, so steps 2-3 are new rows.
    assert sorted(bob_after) == [1, 2, 3]
    assert bob_after[1] == bob_before[1]
    assert bob_after[2] != bob_before[2]

    _, history = fold([*FIRST, LATER, LATE])
    expected = as_tuples(history, HISTORY_COLUMNS)
    assert read_tuples(con, "subscription_history", HISTORY_COLUMNS) == expected
    con.close()
