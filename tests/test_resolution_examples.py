"""The worked examples of SPEC 3, each a readable story checked on the engine's real tables."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from subscription_pipeline.resolve.engine import resolve_all, resolve_pending
from subscription_pipeline.warehouse.connection import connect
from tests.reference_fold import fold
from tests.resolution_helpers import (
    HISTORY_COLUMNS,
    STATE_COLUMNS,
    as_tuples,
    insert_observations,
    obs,
    read_dicts,
    read_tuples,
)

T0 = datetime(2024, 3, 15, 9, 30)
EMAIL = "ann@example.com"
PHONE = "+14155550101"


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = connect(tmp_path / "warehouse.duckdb", threads=1)
    yield connection
    connection.close()


def resolve(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    insert_observations(con, rows)
    resolve_all(con)
    # Every example also agrees with the reference fold, row for row.
    state, history = fold(rows)
    assert read_tuples(con, "subscription_state", STATE_COLUMNS) == as_tuples(state, STATE_COLUMNS)
    assert read_tuples(con, "subscription_history", HISTORY_COLUMNS) == as_tuples(
        history, HISTORY_COLUMNS
    )


def steps(con: duckdb.DuckDBPyConnection, channel: str, contact: str) -> list[tuple]:
    """(group, source kind, observed status, outcome, reason, status after, locked after)."""
    return con.execute(
        """
        SELECT subscription_group, source_kind, observed_status, outcome, reason, status_after,
               locked_after
        FROM subscription_history WHERE channel = ? AND contact = ? ORDER BY replay_step
        """,
        [channel, contact],
    ).fetchall()


def state(con: duckdb.DuckDBPyConnection, channel: str, contact: str, group: str | None = None):
    rows = read_dicts(
        con,
        "SELECT * FROM subscription_state WHERE channel = ? AND contact = ? "
        "AND subscription_group IS NOT DISTINCT FROM ?",
        [channel, contact, group],
    )
    assert len(rows) == 1
    return rows[0]


def test_stop_then_csv_resubscribe_is_blocked_unable_to_subscribe(con) -> None:
    resolve(
        con,
        [
            obs("csv", "sms", PHONE, "subscribed", at(0), ref="a.csv"),
            obs("keyword", "sms", PHONE, "unsubscribed", at(1), ref="msg-stop"),
            obs("csv", "sms", PHONE, "subscribed", at(2), ref="b.csv", row=4),
        ],
    )
    assert steps(con, "sms", PHONE) == [
        (None, "csv", "subscribed", "applied", None, "subscribed", False),
        (None, "keyword", "unsubscribed", "applied", None, "unsubscribed", True),
        (None, "csv", "subscribed", "blocked", "UNABLE_TO_SUBSCRIBE", "unsubscribed", True),
    ]
    row = state(con, "sms", PHONE)
    assert (row["status"], row["locked"], row["source"]) == ("unsubscribed", True, "keyword")
    assert row["source_ref"].endswith("#msg-stop")
    assert row["last_seen_at"] == at(2)  # the blocked row still counts as seen


def test_start_keyword_unlocks_and_resubscribes(con) -> None:
    resolve(
        con,
        [
            obs("keyword", "sms", PHONE, "unsubscribed", at(0), ref="msg-stop"),
            obs("keyword", "sms", PHONE, "subscribed", at(1), ref="msg-start"),
            obs("api", "sms", PHONE, "unsubscribed", at(2), ref="req-9"),
            obs("csv", "sms", PHONE, "subscribed", at(3), ref="c.csv"),
        ],
    )
    assert [s[3:] for s in steps(con, "sms", PHONE)] == [
        ("applied", None, "unsubscribed", True),
        ("applied", None, "subscribed", False),
        ("applied", None, "unsubscribed", False),  # a manual override, no lock
        ("applied", None, "subscribed", False),
    ]
    row = state(con, "sms", PHONE)
    assert (row["status"], row["locked"], row["source_ref"]) == (
        "subscribed",
        False,
        "uploads/c.csv:1",
    )


def test_locked_with_the_same_status_is_ignored_locked_no_change(con) -> None:
    resolve(
        con,
        [
            obs("keyword", "whatsapp", PHONE, "unsubscribed", at(0), ref="msg-stop"),
            obs("csv", "whatsapp", PHONE, "unsubscribed", at(1), ref="a.csv"),
            obs("event", "whatsapp", PHONE, "did_not_subscribe", at(2), ref="evt-1"),
            obs("event", "whatsapp", PHONE, "subscribed", at(3), ref="evt-2"),
        ],
    )
    assert [s[3:5] for s in steps(con, "whatsapp", PHONE)] == [
        ("applied", None),
        ("ignored", "LOCKED_NO_CHANGE"),
        ("ignored", "DNS_AFTER_DECISION"),
        ("blocked", "UNABLE_TO_SUBSCRIBE"),
    ]
    # Ignored steps do not refresh the state: it still dates from the STOP.
    assert state(con, "whatsapp", PHONE)["status_at"] == at(0)


def test_event_did_not_subscribe_after_a_decision_is_ignored(con) -> None:
    resolve(
        con,
        [
            obs("event", "email", EMAIL, "did_not_subscribe", at(0), ref="evt-1"),
            obs("event", "email", EMAIL, "subscribed", at(1), ref="evt-2"),
            obs("event", "email", EMAIL, "did_not_subscribe", at(2), ref="evt-3"),
        ],
    )
    assert [s[3:6] for s in steps(con, "email", EMAIL)] == [
        ("applied", None, "did_not_subscribe"),  # nothing decided yet: DNS applies
        ("applied", None, "subscribed"),
        ("ignored", "DNS_AFTER_DECISION", "subscribed"),
    ]
    assert state(con, "email", EMAIL)["status_at"] == at(1)


def test_csv_did_not_subscribe_overrides_a_decision(con) -> None:
    resolve(
        con,
        [
            obs("event", "email", EMAIL, "subscribed", at(0), ref="evt-1"),
            obs("csv", "email", EMAIL, "did_not_subscribe", at(1), ref="reset.csv"),
        ],
    )
    row = state(con, "email", EMAIL)
    assert (row["status"], row["source"]) == ("did_not_subscribe", "csv")


def test_group_subscribe_while_email_unsubscribed_is_blocked_even_from_csv(con) -> None:
    resolve(
        con,
        [
            obs("csv", "email", EMAIL, "unsubscribed", at(0), ref="a.csv"),
            obs("csv", "email", EMAIL, "subscribed", at(1), ref="b.csv", group="newsletter"),
            obs("api", "email", EMAIL, "subscribed", at(2), ref="req-1", group="newsletter"),
        ],
    )
    assert [s[:5] for s in steps(con, "email", EMAIL)] == [
        (None, "csv", "unsubscribed", "applied", None),
        ("newsletter", "csv", "subscribed", "blocked", "GLOBAL_STATE_NOT_SUBSCRIBED"),
        ("newsletter", "api", "subscribed", "blocked", "GLOBAL_STATE_NOT_SUBSCRIBED"),
    ]
    group = state(con, "email", EMAIL, "newsletter")
    assert group["status"] is None  # registered by blocked observations, never given a status
    assert (group["first_seen_at"], group["last_seen_at"]) == (at(1), at(2))


def test_channel_unsubscribe_cascades_known_groups_not_later_ones(con) -> None:
    resolve(
        con,
        [
            obs("csv", "email", EMAIL, "subscribed", at(0), ref="a.csv"),
            obs("csv", "email", EMAIL, "subscribed", at(0), ref="a.csv", group="newsletter"),
            obs("csv", "email", EMAIL, "did_not_subscribe", at(0), ref="a.csv", group="offers"),
            obs("event", "email", EMAIL, "unsubscribed", at(1), ref="evt-out"),
            obs("api", "email", EMAIL, "unsubscribed", at(2), ref="req-late", group="digest"),
        ],
    )
    assert [s[:4] for s in steps(con, "email", EMAIL)] == [
        ("offers", "csv", "did_not_subscribe", "applied"),  # status rank before channel-first
        (None, "csv", "subscribed", "applied"),
        ("newsletter", "csv", "subscribed", "applied"),
        (None, "event", "unsubscribed", "applied"),
        ("newsletter", "cascade", "unsubscribed", "applied"),
        ("offers", "cascade", "unsubscribed", "applied"),
        ("digest", "api", "unsubscribed", "applied"),
    ]
    newsletter = state(con, "email", EMAIL, "newsletter")
    assert (newsletter["status"], newsletter["source"], newsletter["status_at"]) == (
        "unsubscribed",
        "cascade",
        at(1),
    )
    assert newsletter["source_ref"].endswith("#evt-out")
    assert state(con, "email", EMAIL, "digest")["source"] == "api"


def test_equal_time_conflicting_rows_in_one_upload_unsubscribed_wins(con) -> None:
    resolve(
        con,
        [
            obs("csv", "email", EMAIL, "unsubscribed", at(0), ref="a.csv", row=1),
            obs("csv", "email", EMAIL, "subscribed", at(0), ref="a.csv", row=2),
            obs("csv", "email", EMAIL, "did_not_subscribe", at(0), ref="a.csv", row=3),
        ],
    )
    assert [(s[2], s[3]) for s in steps(con, "email", EMAIL)] == [
        ("did_not_subscribe", "applied"),
        ("subscribed", "applied"),
        ("unsubscribed", "applied"),
    ]
    row = state(con, "email", EMAIL)
    assert (row["status"], row["source_ref"]) == ("unsubscribed", "uploads/a.csv:1")


def test_blank_registers_without_changing(con) -> None:
    resolve(
        con,
        [
            obs("csv", "email", EMAIL, "subscribed", at(0), ref="a.csv", user_id="u-1"),
            obs("csv", "email", EMAIL, None, at(5), ref="b.csv", user_id="u-2"),
            obs("csv", "sms", PHONE, None, at(5), ref="b.csv"),
            obs("csv", "email", EMAIL, None, at(6), ref="c.csv", group="newsletter"),
        ],
    )
    assert len(steps(con, "email", EMAIL)) == 1  # blanks take no part in the replay
    row = state(con, "email", EMAIL)
    assert (row["status"], row["status_at"], row["last_seen_at"], row["user_id"]) == (
        "subscribed",
        at(0),
        at(5),
        "u-2",
    )
    known_only = state(con, "sms", PHONE)
    assert (known_only["status"], known_only["source"], known_only["locked"]) == (None, None, False)
    # A blank group status registers nothing.
    assert con.execute(
        "SELECT count(*) FROM subscription_state WHERE subscription_group IS NOT NULL"
    ).fetchone() == (0,)


def test_applied_without_change_refreshes_status_at_and_source(con) -> None:
    resolve(
        con,
        [
            obs("event", "email", EMAIL, "subscribed", at(0), ref="evt-1"),
            obs("api", "email", EMAIL, "subscribed", at(3), ref="req-7"),
        ],
    )
    row = state(con, "email", EMAIL)
    assert (row["status_at"], row["source"], row["source_ref"]) == (at(3), "api", "req-7")


def test_pending_resolves_only_dirty_vectors_and_late_arrivals(con) -> None:
    insert_observations(con, [obs("csv", "email", EMAIL, "subscribed", at(5), ref="new.csv")])
    insert_observations(con, [obs("csv", "sms", PHONE, "subscribed", at(0), ref="a.csv")])
    first = resolve_pending(con)
    assert (first.vectors_resolved, first.state_rows, first.full) == (2, 2, False)
    # An older upload arrives later: it is replayed before the newer one.
    insert_observations(con, [obs("csv", "email", EMAIL, "unsubscribed", at(1), ref="old.csv")])
    second = resolve_pending(con)
    assert second.vectors_resolved == 1
    assert [s[5] for s in steps(con, "email", EMAIL)] == ["unsubscribed", "subscribed"]
    assert state(con, "email", EMAIL)["status"] == "subscribed"
    assert state(con, "sms", PHONE)["status"] == "subscribed"  # untouched, still there
    assert con.execute("SELECT count(*) FROM dirty_vectors").fetchone() == (0,)


def test_a_failed_resolution_leaves_the_tables_as_they_were(con) -> None:
    resolve(con, [obs("csv", "email", EMAIL, "subscribed", at(0), ref="a.csv")])
    before = read_tuples(con, "subscription_state", STATE_COLUMNS)
    insert_observations(con, [obs("csv", "email", EMAIL, "unsubscribed", at(1), ref="b.csv")])
    con.execute("DROP VIEW message_winners CASCADE")  # breaks effective_observations
    with pytest.raises(duckdb.Error):
        resolve_pending(con)
    assert read_tuples(con, "subscription_state", STATE_COLUMNS) == before
    assert con.execute("SELECT count(*) FROM dirty_vectors").fetchone() == (1,)
