"""The API service over real HTTP: uvicorn on a free loopback port, httpx as the client."""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from subscription_pipeline.api.app import ApiSettings, create_app
from subscription_pipeline.api.inbox import inbox_path
from subscription_pipeline.api.serve import tokens_from_env
from subscription_pipeline.api.snapshot import publish_snapshot
from subscription_pipeline.resolve.engine import resolve_all
from subscription_pipeline.warehouse.connection import connect
from tests.resolution_helpers import insert_observations, obs

TOKEN = "test-token"
PUT = "/spaces/space1/messaging-subscriptions"
BATCH = PUT + "/batch"
PHONE = "+14155552671"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_service(settings: ApiSettings) -> Iterator[httpx.Client]:
    """The app served by uvicorn in a thread on 127.0.0.1, and a client authenticated for it."""
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.02)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def settings_for(data_dir: Path, **overrides: object) -> ApiSettings:
    return ApiSettings(data_dir=data_dir, tokens=frozenset({TOKEN}), **overrides)  # type: ignore[arg-type]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def client(data_dir: Path) -> Iterator[httpx.Client]:
    with running_service(settings_for(data_dir)) as http:
        yield http


def inbox_rows(data_dir: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(inbox_path(data_dir))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def publish_state(data_dir: Path, tmp_path: Path, observations: list[dict]) -> None:
    """Resolve observations in a test warehouse and publish its snapshot, as a reconcile does."""
    con = connect(tmp_path / "warehouse.duckdb")
    try:
        insert_observations(con, observations)
        resolve_all(con)
        publish_snapshot(con, data_dir)
    finally:
        con.close()


def put(client: httpx.Client, *entries: dict, key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return client.put(PUT, json={"subscriptions": list(entries)}, headers=headers)


def test_put_records_each_entry_and_answers_the_normalised_state(
    client: httpx.Client, data_dir: Path
) -> None:
    response = put(
        client,
        {
            "key": " Ann@Example.COM ",
            "type": "email",
            "status": "SUBSCRIBED",
            "groups": [{"name": " newsletter ", "status": "subscribed"}],
        },
        {"key": "(415) 555-2671", "type": "SMS", "status": "unsubscribed"},
    )
    assert response.status_code == 200
    [email, sms] = response.json()["data"]["subscriptions"]
    assert email["key"] == "ann@example.com" and email["type"] == "EMAIL"
    assert (email["status"], email["locked"], email["outcome"]) == ("SUBSCRIBED", False, "applied")
    assert email["groups"] == [
        {
            "name": "newsletter",
            "status": "SUBSCRIBED",
            "status_at": email["status_at"],
            "outcome": "applied",
        }
    ]
    assert (sms["key"], sms["status"]) == (PHONE, "UNSUBSCRIBED")
    assert "reason" not in sms
    stored = inbox_rows(
        data_dir, "SELECT channel, contact, subscription_group, status FROM entries ORDER BY seq"
    )
    assert stored == [
        ("email", "ann@example.com", None, "subscribed"),
        ("email", "ann@example.com", "newsletter", "subscribed"),
        ("sms", PHONE, None, "unsubscribed"),
    ]
    [(mode,)] = inbox_rows(data_dir, "PRAGMA journal_mode")
    assert mode == "wal"


def test_invalid_entries_are_named_with_their_codes_and_nothing_is_recorded(
    client: httpx.Client, data_dir: Path
) -> None:
    response = put(
        client,
        {"key": "ok@example.com", "type": "EMAIL", "status": "subscribed"},
        {"key": "not-an-email", "type": "EMAIL", "status": "subscribed"},
        {"key": "12", "type": "SMS", "status": "subscribed"},
        {"key": "a@example.com", "type": "EMAIL", "status": "maybe"},
        {"key": "a@example.com", "type": "FAX", "status": "subscribed"},
        {"key": "a@example.com", "type": "EMAIL", "status": "subscribed", "groups": [{"x": 1}]},
        {"key": PHONE, "type": "SMS", "status": "subscribed", "groups": [{"name": "g"}]},
    )
    assert response.status_code == 422
    codes = {(e["index"], e["code"]) for e in response.json()["errors"]}
    assert codes == {
        (1, "INVALID_EMAIL"),
        (2, "INVALID_PHONE"),
        (3, "INVALID_SUBSCRIPTION_STATUS"),
        (4, "INVALID_CHANNEL"),
        (5, "INVALID_GROUP"),
        (6, "INVALID_GROUP"),
    }
    assert inbox_rows(data_dir, "SELECT count(*) FROM entries") == [(0,)]
    malformed = client.put(PUT, content=b"{not json", headers={"content-type": "application/json"})
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["code"] == "INVALID_REQUEST"


def test_requests_without_a_valid_bearer_token_are_refused(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUBSCRIPTION_API_TOKENS", f" other , {TOKEN} ,")
    tokens = tokens_from_env()
    assert tokens == {"other", TOKEN}
    body = {"subscriptions": [{"key": "a@example.com", "type": "EMAIL", "status": "subscribed"}]}
    with running_service(ApiSettings(data_dir=data_dir, tokens=tokens)) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            refused = httpx.put(f"{client.base_url}{PUT}", json=body, headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == "Bearer"
        # Even a malformed body gets 401, not 422, without a token.
        assert httpx.put(f"{client.base_url}{PUT}", content=b"{").status_code == 401
        assert inbox_rows(data_dir, "SELECT count(*) FROM entries") == [(0,)]
        other = httpx.put(
            f"{client.base_url}{PUT}", json=body, headers={"Authorization": "Bearer other"}
        )
        assert other.status_code == 200


def test_oversized_requests_are_refused_with_413(data_dir: Path) -> None:
    settings = settings_for(data_dir, max_body_bytes=2_000, max_entries=5)
    entry = {"key": "a@example.com", "type": "EMAIL", "status": "subscribed"}
    with running_service(settings) as client:
        big = put(client, *[entry] * 40)
        assert big.status_code == 413
        assert big.json()["errors"][0]["code"] == "REQUEST_TOO_LARGE"

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
            yield b'{"subscriptions": ['
            for _ in range(60):
                yield b'{"key": "a@example.com", "type": "EMAIL", "status": "subscribed"},'
            yield b"]}"

        streamed = client.put(PUT, content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        many = put(client, *[entry] * 6)
        assert many.status_code == 413 and many.json()["errors"][0]["code"] == "TOO_MANY_ENTRIES"
        assert put(client, *[entry] * 5).status_code == 200
    assert inbox_rows(data_dir, "SELECT count(*) FROM entries") == [(5,)]


def test_resubscribing_a_stop_locked_number_from_the_snapshot_is_blocked(
    data_dir: Path, tmp_path: Path
) -> None:
    publish_state(
        data_dir,
        tmp_path,
        [
            obs("csv", "sms", PHONE, "subscribed", datetime(2024, 1, 1), ref="a.csv"),
            obs("keyword", "sms", PHONE, "unsubscribed", datetime(2024, 1, 2), ref="m1"),
        ],
    )
    with running_service(settings_for(data_dir)) as client:
        response = put(client, {"key": "4155552671", "type": "SMS", "status": "subscribed"})
        assert response.status_code == 200
        [item] = response.json()["data"]["subscriptions"]
        assert item["outcome"] == "blocked" and item["reason"] == "UNABLE_TO_SUBSCRIBE"
        assert (item["status"], item["locked"]) == ("UNSUBSCRIBED", True)
        assert item["status_at"] == "2024-01-02T00:00:00Z"
        # Recorded all the same: the reconcile replays it and blocks it there too.
        assert inbox_rows(data_dir, "SELECT contact, status FROM entries") == [
            (PHONE, "subscribed")
        ]
        same = put(client, {"key": PHONE, "type": "SMS", "status": "unsubscribed"})
        [again] = same.json()["data"]["subscriptions"]
        assert (again["outcome"], again["reason"]) == ("ignored", "LOCKED_NO_CHANGE")


def test_group_subscribe_without_a_subscribed_email_is_blocked(client: httpx.Client) -> None:
    email = "bob@example.com"
    response = put(
        client,
        {
            "key": email,
            "type": "EMAIL",
            "status": "did_not_subscribe",
            "groups": [{"name": "news", "status": "subscribed"}],
        },
    )
    [item] = response.json()["data"]["subscriptions"]
    assert (item["status"], item["outcome"]) == ("DID_NOT_SUBSCRIBE", "applied")
    [group] = item["groups"]
    assert group["outcome"] == "blocked" and group["reason"] == "GLOBAL_STATE_NOT_SUBSCRIBED"
    assert group["status"] is None
    # Folded with the inbox: a later request sees the earlier one before any reconcile.
    subscribed = put(
        client,
        {
            "key": email,
            "type": "EMAIL",
            "status": "subscribed",
            "groups": [{"name": "news", "status": "subscribed"}],
        },
    )
    [item] = subscribed.json()["data"]["subscriptions"]
    assert item["groups"][0]["outcome"] == "applied"
    unsubscribed = put(client, {"key": email, "type": "EMAIL", "status": "unsubscribed"})
    [item] = unsubscribed.json()["data"]["subscriptions"]
    assert item["status"] == "UNSUBSCRIBED" and item["groups"] == []
    lookup = client.post(BATCH, json={"subscriptions": [{"key": email, "type": "email"}]})
    [state] = lookup.json()["data"]["successes"]
    # The cascade: every known group of the email follows its unsubscribe.
    assert [(g["name"], g["status"]) for g in state["groups"]] == [("news", "UNSUBSCRIBED")]


def test_same_idempotency_key_is_recorded_once_and_answered_the_same(
    client: httpx.Client, data_dir: Path
) -> None:
    entry = {"key": "c@example.com", "type": "EMAIL", "status": "subscribed"}
    first = put(client, entry, key="retry-1")
    second = put(client, entry, key="retry-1")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert inbox_rows(data_dir, "SELECT count(*) FROM entries") == [(1,)]
    assert inbox_rows(data_dir, "SELECT count(*) FROM requests") == [(1,)]
    reused = put(client, {**entry, "status": "unsubscribed"}, key="retry-1")
    assert reused.status_code == 409
    other = put(client, entry, key="retry-2")
    assert other.status_code == 200 and other.content != first.content
    assert inbox_rows(data_dir, "SELECT count(*) FROM entries") == [(2,)]


def test_batch_lookup_answers_known_contacts_and_names_the_rest(
    data_dir: Path, tmp_path: Path
) -> None:
    publish_state(
        data_dir,
        tmp_path,
        [obs("csv", "email", "d@example.com", "subscribed", datetime(2024, 1, 1), ref="a.csv")],
    )
    with running_service(settings_for(data_dir)) as client:
        put(client, {"key": PHONE, "type": "WHATSAPP", "status": "subscribed"})
        response = client.post(
            BATCH,
            json={
                "subscriptions": [
                    {"key": "D@example.com", "type": "EMAIL"},
                    {"key": PHONE, "type": "whatsapp"},
                    {"key": "nobody@example.com", "type": "EMAIL"},
                    {"key": "x", "type": "SMS"},
                ]
            },
        )
    data = response.json()["data"]
    found = {(s["key"], s["type"]): (s["status"], s["source"]) for s in data["successes"]}
    assert found == {
        ("d@example.com", "EMAIL"): ("SUBSCRIBED", "csv"),
        (PHONE, "WHATSAPP"): ("SUBSCRIBED", "api"),
    }
    assert [(f["index"], f["code"]) for f in data["failures"]] == [
        (2, "NOT_FOUND"),
        (3, "INVALID_PHONE"),
    ]


def test_logs_hold_no_email_or_phone(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    put(client, {"key": "secret.person@example.com", "type": "EMAIL", "status": "subscribed"})
    put(client, {"key": "secret.person@", "type": "EMAIL", "status": "subscribed"})
    client.post(BATCH, json={"subscriptions": [{"key": "4155552671", "type": "SMS"}]})
    assert "accepted req_" in caplog.text
    for needle in ("secret.person", "4155552671", PHONE):
        assert needle not in caplog.text


def test_concurrent_requests_are_each_recorded_once_in_acceptance_order(
    client: httpx.Client, data_dir: Path
) -> None:
    email = "race@example.com"
    statuses = ["subscribed", "unsubscribed", "did_not_subscribe"]
    answers: dict[int, dict] = {}

    def send(number: int) -> None:
        with httpx.Client(base_url=client.base_url, headers=client.headers) as own:
            entry = {"key": email, "type": "EMAIL", "status": statuses[number % 3]}
            response = put(own, entry, key=f"race-{number}")
            answers[number] = response.json()["data"]["subscriptions"][0]

    threads = [threading.Thread(target=send, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A manual override always applies: each answer is its own status, whatever ran alongside.
    assert {n: a["status"] for n, a in answers.items()} == {
        n: statuses[n % 3].upper() for n in range(30)
    }
    assert inbox_rows(data_dir, "SELECT count(*), count(DISTINCT request_id) FROM entries") == [
        (30, 30)
    ]
    # The last accepted request is the current state; seq order is acceptance order.
    [(last_key,)] = inbox_rows(
        data_dir, "SELECT idempotency_key FROM requests ORDER BY accepted_at DESC LIMIT 1"
    )
    assert inbox_rows(
        data_dir,
        "SELECT count(*) FROM entries a JOIN entries b ON a.seq < b.seq "
        "WHERE a.accepted_at >= b.accepted_at",
    ) == [(0,)]
    lookup = client.post(BATCH, json={"subscriptions": [{"key": email, "type": "EMAIL"}]})
    [state] = lookup.json()["data"]["successes"]
    assert state["status"] == statuses[int(last_key.removeprefix("race-")) % 3].upper()
