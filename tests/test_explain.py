"""`explain_contact` on a warehouse resolved by the real engine."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from subscription_pipeline.resolve.engine import resolve_all
from subscription_pipeline.resolve.explain import explain_contact
from subscription_pipeline.warehouse.connection import connect
from tests.resolution_helpers import insert_observations, obs

PHONE = "+14155550101"


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = connect(tmp_path / "warehouse.duckdb", threads=1)
    insert_observations(
        connection,
        [
            obs("csv", "sms", PHONE, "subscribed", datetime(2024, 3, 1), ref="a.csv", row=3),
            obs("keyword", "sms", PHONE, "unsubscribed", datetime(2024, 3, 2), ref="msg-stop"),
            obs("csv", "sms", PHONE, "subscribed", datetime(2024, 3, 3), ref="b.csv", row=9),
            obs("csv", "email", "ann@example.com", "subscribed", datetime(2024, 3, 1), ref="a.csv"),
            obs(
                "csv",
                "email",
                "ann@example.com",
                "subscribed",
                datetime(2024, 3, 1),
                ref="a.csv",
                group="newsletter",
                user_id="user-7",
            ),
        ],
    )
    resolve_all(connection)
    yield connection
    connection.close()


def test_phone_timeline_shows_each_step_its_source_and_the_blocking_rule(con) -> None:
    text = explain_contact(con, "(415) 555-0101")  # a national number, default region US
    lines = text.splitlines()
    assert lines[0] == f"Contact {PHONE} (given as '(415) 555-0101')"
    assert "sms (channel)" in lines
    blocked = next(line for line in lines if "uploads/b.csv:9" in line)
    assert "blocked: UNABLE_TO_SUBSCRIBE" in blocked
    assert "unsubscribed [locked]" in blocked
    assert any("keyword" in line and "#msg-stop" in line for line in lines)
    assert "  now: unsubscribed since 2024-03-02 00:00:00 (keyword " in text
    assert "LOCKED" in text
    assert "email" not in text


def test_email_is_normalised_and_its_groups_listed(con) -> None:
    text = explain_contact(con, "  Ann@Example.COM ")
    assert text.splitlines()[0].startswith("Contact ann@example.com")
    assert "email (channel)" in text
    assert "email / group newsletter" in text
    assert "user_id user-7" in text


def test_channel_filter_and_unknown_contacts_are_said_plainly(con) -> None:
    assert "Unknown contact" in explain_contact(con, PHONE, channel="whatsapp")
    assert "Unknown contact" in explain_contact(con, "nobody@example.com")
    assert "neither a valid email address nor a valid phone number" in explain_contact(
        con, "not a contact"
    )


def test_unresolved_changes_are_flagged(con) -> None:
    insert_observations(
        con, [obs("csv", "sms", PHONE, "unsubscribed", datetime(2024, 4, 1), ref="c.csv")]
    )
    assert "not resolved yet" in explain_contact(con, PHONE)
