"""The API service and erasure: `POST /erasures`, SUPPRESSED answers that never record the
contact, lookups that forget it at once, the inbox's ledger count, and request evidence."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from subscription_pipeline.erasure.apply import apply_erasures
from subscription_pipeline.erasure.keyed_hash import SECRET_ENV
from subscription_pipeline.ingest.api_inbox import ingest_inbox_day
from subscription_pipeline.ingest.inbox_pending import pending_inbox_days
from subscription_pipeline.warehouse.connection import connect_engine
from tests.test_api_service import (
    PUT,
    answer,
    error_codes,
    put,
    running_service,
    settings_for,
)

ANN = "ann@example.com"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(SECRET_ENV, "api-test-secret-0123456789")
    path = tmp_path / "data"
    path.mkdir()
    return path


def _inbox(data_dir: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(data_dir / "inbox" / "api_inbox.sqlite3")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _erase(client: httpx.Client, key: str) -> httpx.Response:
    return client.post("/erasures", json={"erasures": [{"key": key, "reason": "ticket 7"}]})


def test_an_erased_contact_is_suppressed_by_the_service_at_once(data_dir: Path) -> None:
    with running_service(settings_for(data_dir)) as client:
        assert put(client, {"key": ANN, "type": "EMAIL", "status": "subscribed"}).status_code == 200
        erased = _erase(client, " Ann@Example.COM ")
        assert erased.status_code == 202
        assert ANN not in erased.text.lower()
        [item] = erased.json()["data"]["erasures"]
        assert len(item["contact_hash"]) == 64 and item["status"] == "queued"

        again = put(
            client,
            {"key": "ANN@example.com", "type": "EMAIL", "status": "subscribed"},
            {"key": "bob@example.com", "type": "EMAIL", "status": "subscribed"},
        )
        successes, failures = answer(again)
        [failure] = failures
        assert failure["index"] == 0 and failure["key"] == "[suppressed]"
        assert [e["code"] for e in failure["errors"]] == ["SUPPRESSED"]
        assert "normalizedKey" not in failure
        assert [s["key"] for s in successes] == ["bob@example.com"]
        assert ANN not in again.text.lower()

        lookup = client.post(
            PUT + "/batch", json={"subscriptions": [{"key": ANN, "type": "EMAIL"}]}
        )
        [found] = lookup.json()["data"]["successes"]
        assert "status" not in found  # unknown at once: no state answered
    # Recorded: bob and the first ann (the purge is the next run's); never the second ann.
    assert _inbox(data_dir, "SELECT contact FROM entries ORDER BY seq") == [
        (ANN,),
        ("bob@example.com",),
    ]
    stored = _inbox(data_dir, "SELECT response FROM requests")
    assert not any("annexample" in r.replace("@", "").replace(".", "") for (r,) in stored[1:])

    warehouse = data_dir / "warehouse.duckdb"
    con = connect_engine(warehouse)
    try:
        apply_erasures(con, data_dir, warehouse)
        for day in pending_inbox_days(data_dir):
            ingest_inbox_day(con, data_dir, day)
        ledger = con.execute(
            "SELECT rows_in, applied, rejected, suppressed FROM input_ledger"
        ).fetchall()
        contacts = con.execute("SELECT DISTINCT contact FROM observations").fetchall()
        evidence = con.execute("SELECT evidence FROM record_evidence").fetchall()
    finally:
        con.close()
    # Three entries: bob applied, both ann entries suppressed (one purged, one never stored).
    assert ledger == [(3, 1, 0, 2)]
    assert contacts == [("bob@example.com",)]
    [(text,)] = evidence
    record = json.loads(text)
    assert record["client"] and record["request_id"].startswith("req_")
    assert record["remote_addr"] == "127.0.0.1"
    assert _inbox(data_dir, "SELECT contact FROM entries") == [("bob@example.com",)]


def test_erasures_need_a_token_and_valid_keys(data_dir: Path) -> None:
    with running_service(settings_for(data_dir)) as client:
        bad = _erase(client, "not a contact")
        assert bad.status_code == 422
        assert error_codes(bad) == [(0, "INVALID_KEY")]
        assert ANN not in bad.text
        anonymous = httpx.post(
            str(client.base_url) + "/erasures", json={"erasures": [{"key": ANN}]}
        )
        assert anonymous.status_code == 401
    assert not (data_dir / "erasure" / "registry.sqlite3").exists()
