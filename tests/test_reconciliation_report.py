"""The reconciliation report: snapshots per run, exact transitions, rejections, chart, markdown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl
import pytest

from subscription_pipeline.reconciliation_report import (
    CaptureMissingError,
    capture_before,
    changes_since_previous,
    record_snapshot,
    record_transitions,
    rejections_by_code,
    report_markdown,
    state_counts,
    transition_counts,
)
from subscription_pipeline.warehouse.connection import connect
from tests.output_tables import T1, create_state, replace_state, state_row

RUN_1 = datetime(2024, 3, 16, 2, 0)
RUN_2 = datetime(2024, 3, 17, 2, 0)

STATE_1 = [
    state_row("email", "ann@example.com", "subscribed"),
    state_row("email", "ann@example.com", "subscribed", group="newsletter"),
    state_row("email", "bob@example.com", "subscribed", source="event"),
    state_row("email", "dee@example.com", None),
    state_row("sms", "+14155550101", "subscribed"),
    state_row("sms", "+14155550102", "subscribed"),
]
# Run 2: ann unsubscribes through the API (her newsletter cascades), 0102 texts STOP,
# eve subscribes, dee is re-registered without a status.
STATE_2 = [
    state_row("email", "ann@example.com", "unsubscribed", source="api", at=T1),
    state_row(
        "email", "ann@example.com", "unsubscribed", group="newsletter", source="cascade", at=T1
    ),
    state_row("email", "bob@example.com", "subscribed", source="event"),
    state_row("email", "dee@example.com", None, at=T1),
    state_row("email", "eve@example.com", "subscribed", source="csv", at=T1),
    state_row("sms", "+14155550101", "subscribed"),
    state_row("sms", "+14155550102", "unsubscribed", source="keyword", locked=True, at=T1),
]
DIRTY_2 = [
    ("email", "ann@example.com"),
    ("email", "dee@example.com"),
    ("email", "eve@example.com"),
    ("sms", "+14155550102"),
]


def queue_dirty(con: duckdb.DuckDBPyConnection, vectors: list[tuple[str, str]]) -> None:
    con.execute("DELETE FROM dirty_vectors")
    con.executemany("INSERT INTO dirty_vectors VALUES (?, ?)", vectors)


def two_runs(con: duckdb.DuckDBPyConnection) -> None:
    """Two nightly runs as the orchestration drives them: capture, resolve, record."""
    create_state(con, [])
    queue_dirty(con, sorted({(row[0], row[1]) for row in STATE_1}))
    capture_before(con)
    replace_state(con, STATE_1)
    record_transitions(con, RUN_1)
    record_snapshot(con, RUN_1)

    queue_dirty(con, DIRTY_2 + DIRTY_2[:1])  # the queue may hold a vector twice
    capture_before(con)
    replace_state(con, STATE_2)
    record_transitions(con, RUN_2)
    record_snapshot(con, RUN_2)


def test_state_counts_are_channel_level(con) -> None:
    create_state(con, STATE_2)
    assert state_counts(con).rows() == [
        ("email", "subscribed", 2),
        ("email", "unsubscribed", 1),
        ("email", None, 1),
        ("sms", "subscribed", 1),
        ("sms", "unsubscribed", 1),
    ]


def test_exact_transitions_of_the_last_run(con) -> None:
    two_runs(con)
    assert transition_counts(con).rows() == [
        ("email", None, "subscribed", 1),
        ("email", None, "unsubscribed", 1),
        ("email", "newsletter", "unsubscribed", 1),
        ("sms", None, "locked", 1),
        ("sms", None, "unsubscribed", 1),
    ]
    # The first run saw every contact appear; dee (no status) is a registration, not a change.
    first = transition_counts(con, RUN_1)
    assert first.filter(pl.col("change") == "subscribed")["contacts"].sum() == 5
    assert "no_status" not in first["change"].to_list()


def test_snapshot_deltas_are_net_counts(con) -> None:
    two_runs(con)
    changes = changes_since_previous(con)
    assert changes.columns == [
        "channel",
        "subscription_group",
        "status",
        "locked",
        "previous",
        "current",
        "delta",
    ]
    # ann left 'subscribed' and eve joined it: the net count hides both, transitions do not.
    assert changes.rows() == [
        ("email", None, "unsubscribed", False, 0, 1, 1),
        ("email", "newsletter", "subscribed", False, 1, 0, -1),
        ("email", "newsletter", "unsubscribed", False, 0, 1, 1),
        ("sms", None, "subscribed", False, 2, 1, -1),
        ("sms", None, "unsubscribed", True, 0, 1, 1),
    ]


def test_snapshot_rerun_replaces_and_aware_times_become_utc(con) -> None:
    create_state(con, STATE_1)
    paris = timezone(timedelta(hours=1))
    record_snapshot(con, datetime(2024, 3, 16, 3, 0, tzinfo=paris))
    record_snapshot(con, datetime(2024, 3, 16, 2, 0, tzinfo=UTC))  # the same run, retried
    runs = con.execute(
        "SELECT run_at, sum(contacts) FROM state_snapshots GROUP BY run_at"
    ).fetchall()
    assert runs == [(RUN_1, len(STATE_1))]
    # A single snapshot: everything is new.
    assert changes_since_previous(con)["previous"].sum() == 0


def test_transitions_need_a_capture_and_consume_it(con) -> None:
    create_state(con, STATE_1)
    with pytest.raises(CaptureMissingError):
        record_transitions(con, RUN_1)
    queue_dirty(con, DIRTY_2)
    assert capture_before(con) == 4  # ann (channel + newsletter), dee, 0102; eve is new
    replace_state(con, STATE_2)
    assert record_transitions(con, RUN_2) == 4
    with pytest.raises(CaptureMissingError):
        record_transitions(con, RUN_2)


def test_only_captured_vectors_unless_full_rebuild(con) -> None:
    create_state(con, STATE_1)
    changed_bob = [
        *STATE_1[:2],
        state_row("email", "bob@example.com", "unsubscribed"),
        *STATE_1[3:],
    ]

    queue_dirty(con, [("sms", "+14155550101")])
    capture_before(con)
    replace_state(con, changed_bob)
    assert record_transitions(con, RUN_1) == 0  # bob was not queued: not re-resolved

    replace_state(con, STATE_1)
    capture_before(con, full_rebuild=True)
    replace_state(con, changed_bob)
    assert record_transitions(con, RUN_2) == 1
    assert transition_counts(con).rows() == [("email", None, "unsubscribed", 1)]


def test_rejections_by_code(con) -> None:
    con.executemany(
        "INSERT INTO rejections VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            ("csv", "a.csv", "uploads/a.csv", 3, "INVALID_EMAIL", "bad", "x,subscribed"),
            ("csv", "a.csv", "uploads/a.csv", 5, "INVALID_EMAIL", "bad", "y,subscribed"),
            ("csv", "a.csv", "uploads/a.csv", 6, "INVALID_PHONE", "bad", "z,true"),
            ("csv", "b.csv", "uploads/b.csv", None, "EMPTY_FILE", "no rows", None),
        ],
    )
    assert rejections_by_code(con).rows() == [
        ("uploads/a.csv", "INVALID_EMAIL", 2),
        ("uploads/a.csv", "INVALID_PHONE", 1),
        ("uploads/b.csv", "EMPTY_FILE", 1),
    ]


def test_markdown_report(con) -> None:
    two_runs(con)
    con.execute(
        "INSERT INTO rejections VALUES ('csv', 'a|b.csv', 'uploads/a|b.csv', 2, "
        "'INVALID_EMAIL', 'bad', 'x')"
    )
    text = report_markdown(con)
    assert "Run of 2024-03-17 02:00:00 UTC (previous run 2024-03-16 02:00:00)" in text
    # NULL status spelled out, after the statuses; the channel total last.
    assert "| email | (no status) | 1 |\n| email | total | 4 |" in text
    assert "| sms | (channel) | locked | 1 |" in text
    assert "| sms | (channel) | unsubscribed | True | 0 | 1 | 1 |" in text
    assert "## Rejections (1 rows)" in text
    assert "| uploads/a\\|b.csv | INVALID_EMAIL | 1 |" in text


def test_markdown_on_a_read_only_warehouse_without_report_tables(tmp_path: Path) -> None:
    writer = connect(tmp_path / "warehouse.duckdb")
    create_state(writer, STATE_1)
    writer.close()
    reader = connect(tmp_path / "warehouse.duckdb", read_only=True)
    try:
        text = report_markdown(reader)
    finally:
        reader.close()
    assert "_no snapshot recorded yet_" in text
    assert "| sms | subscribed | 2 |" in text
    assert "## Rejections (0 rows)" in text
