"""Evidence (proof of consent) from the real readers, through the resolution, into `explain`."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from csv_files import csv_text, write_upload

from subscription_pipeline.consent_records import export_consent_records, record_file_name
from subscription_pipeline.export import export_state
from subscription_pipeline.ingest.csv_upload import ingest_upload
from subscription_pipeline.ingest.event_logs import ingest_log_day
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.resolve.engine import resolve_all
from subscription_pipeline.resolve.explain import explain_contact
from subscription_pipeline.warehouse.connection import connect
from tests.log_files import entry, identify, inbound, write_log

DAY = "2024-03-15"
EMAIL = "ann@example.com"
PHONE = "+14155552671"


def write_inputs(tmp_path: Path) -> None:
    """An opt-in event with its context, a STOP with its `to`, a CSV row."""
    opt_in = identify(
        "msg-optin",
        [entry("Ann@Example.com", "EMAIL", "SUBSCRIBED")],
    )
    opt_in["context"].update(
        {
            "ip": "203.0.113.7",
            "userAgent": "Mozilla/5.0 (X11)",
            "page": {"url": "https://shop.example/signup?x=1", "path": "/signup"},
            "library": {"name": "analytics.js", "version": "4.1"},
        }
    )
    opt_in["anonymousId"] = "anon-9"
    stop = inbound("msg-stop", "(415) 555-2671", " Stop ")
    stop["properties"]["to"] = "+18005550100"
    write_log(tmp_path, DAY, "part-0.gz", [opt_in, stop])
    write_upload(
        tmp_path,
        "20240301T000000Z_crm.csv",
        csv_text(["email", "email_subscription_status"], [[EMAIL, "subscribed"]]),
    )


def _landing_zone(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """The inputs, ingested and resolved."""
    write_inputs(tmp_path)
    connection = connect(tmp_path / "warehouse.duckdb", threads=1)
    ingest_log_day(connection, tmp_path, DAY, IngestSettings())
    ingest_upload(connection, tmp_path, "20240301T000000Z_crm.csv", IngestSettings())
    resolve_all(connection)
    return connection


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = _landing_zone(tmp_path)
    yield connection
    connection.close()


def _history_evidence(con: duckdb.DuckDBPyConnection, contact: str) -> list[dict]:
    rows = con.execute(
        "SELECT evidence FROM subscription_history WHERE contact = ? ORDER BY replay_step",
        [contact],
    ).fetchall()
    return [json.loads(text) if text else {} for (text,) in rows]


def test_event_evidence_is_kept_in_the_history(con) -> None:
    csv_step, event_step = _history_evidence(con, EMAIL)
    assert event_step == {
        "message_id": "msg-optin",
        "user_id": "user-1",
        "anonymous_id": "anon-9",
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (X11)",
        "page_url": "https://shop.example/signup?x=1",
        "page_path": "/signup",
        "library": "analytics.js/4.1",
    }
    assert csv_step["file"] == "20240301T000000Z_crm.csv"
    assert csv_step["row"] == 1
    assert len(csv_step["sha256"]) == 64


def test_explain_of_an_opt_in_event_shows_its_ip_and_page(con) -> None:
    text = explain_contact(con, EMAIL)
    lines = text.splitlines()
    step = next(i for i, line in enumerate(lines) if "#msg-optin" in line)
    evidence = lines[step + 1]
    assert evidence.strip().startswith("evidence: message_id=msg-optin")
    assert "ip=203.0.113.7" in evidence
    assert "page_url=https://shop.example/signup?x=1" in evidence
    assert "page_path=/signup" in evidence


def test_explain_of_a_stop_shows_the_text_and_the_number_it_was_sent_to(con) -> None:
    text = explain_contact(con, PHONE)
    lines = text.splitlines()
    step = next(i for i, line in enumerate(lines) if "#msg-stop" in line)
    evidence = lines[step + 1]
    # The body exactly as received (spaces kept), the sender as sent, the number it went to.
    assert 'body=" Stop "' in evidence
    assert "from=(415) 555-2671" in evidence
    assert "to=+18005550100" in evidence


def test_evidence_does_not_change_the_state(con, tmp_path: Path) -> None:
    before = con.execute("SELECT * FROM subscription_state ORDER BY ALL").fetchall()
    con.execute("UPDATE record_evidence SET evidence = NULL")
    resolve_all(con)
    assert con.execute("SELECT * FROM subscription_state ORDER BY ALL").fetchall() == before
    assert con.execute(
        "SELECT count(*) FROM subscription_history WHERE evidence IS NOT NULL"
    ).fetchone() == (0,)


def test_consent_records_hold_the_state_the_step_that_set_it_and_the_history(
    con, tmp_path: Path
) -> None:
    out = tmp_path / "records"
    assert export_consent_records(con, out) == 2  # ann's email, the phone's sms
    record = json.loads((out / record_file_name("email", EMAIL)).read_text())
    assert record["subject"] == {"channel": "email", "contact": EMAIL, "user_id": "user-1"}
    assert record["pipeline"]["name"] == "subscription-pipeline" and record["pipeline"]["version"]
    assert record["record_id"].startswith("urn:subscription-pipeline:consent-record:")
    [channel] = record["state"]
    assert channel["status"] == "subscribed"
    assert channel["set_by"]["source"] == "event"
    assert channel["set_by"]["evidence"]["ip"] == "203.0.113.7"
    assert channel["set_by"]["evidence"]["page_url"] == "https://shop.example/signup?x=1"
    assert [step["source"] for step in record["history"]] == ["csv", "event"]
    assert record["history"][0]["evidence"]["file"] == "20240301T000000Z_crm.csv"
    stop = json.loads((out / record_file_name("sms", PHONE)).read_text())
    assert stop["state"][0]["locked"] is True
    assert stop["state"][0]["set_by"]["evidence"]["to"] == "+18005550100"


def test_evidence_stays_out_of_the_sql_traits_exports(tmp_path: Path) -> None:
    connection = _landing_zone(tmp_path)
    try:
        export_state(connection, tmp_path / "exports", formats=("csv",))
    finally:
        connection.close()
    secrets = ("203.0.113.7", "Mozilla", "shop.example", "anon-9", "+18005550100", "sha256")
    for path in (tmp_path / "exports").iterdir():
        text = path.read_text()
        assert not any(value in text for value in secrets), path.name
        assert "evidence" not in text
