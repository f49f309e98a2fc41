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
from subscription_pipeline.api.published_state import publish_snapshot
from subscription_pipeline.api.serve import tokens_from_env
from subscription_pipeline.api.service import SubscriptionService
from subscription_pipeline.api.shapes import group_id
from subscription_pipeline.api.spaces import SAMPLE_SPACE_ID, SpaceMismatch, parse_spaces
from subscription_pipeline.api.tokens import anonymous_name
from subscription_pipeline.resolve.engine import resolve_all
from subscription_pipeline.warehouse.connection import connect
from tests.resolution_helpers import insert_observations, obs
from tests.segment_models import check_answer

TOKEN = "test-token"
SPACE = "space1"
PUT = f"/spaces/{SPACE}/messaging-subscriptions"
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
    hooks = {"response": [check_answer]}  # every answer must load into Segment's SDK models
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers=headers, event_hooks=hooks
        ) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def settings_for(data_dir: Path, **overrides: object) -> ApiSettings:
    settings: dict = {"tokens": {TOKEN: "tests"}, "spaces": frozenset({SPACE}), **overrides}
    return ApiSettings(data_dir=data_dir, **settings)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def client(data_dir: Path) -> Iterator[httpx.Client]:
    with running_service(settings_for(data_dir)) as http:
        yield http


def inbox_rows(data_dir: Path, sql: str, params: tuple = ()) -> list[tuple]:
    con = sqlite3.connect(inbox_path(data_dir))
    try:
        return con.execute(sql, params).fetchall()
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


def answer(response: httpx.Response) -> tuple[list[dict], list[dict]]:
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    return data["successes"], data["failures"]


def error_codes(response: httpx.Response) -> list[tuple[int | None, str]]:
    return [(e["data"].get("index"), e["data"]["code"]) for e in response.json()["errors"]]


def test_put_records_each_entry_and_answers_the_state_with_the_key_as_sent(
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
    [email, sms], failures = answer(response)
    assert failures == []
    assert (email["index"], email["key"], email["normalizedKey"]) == (
        0,
        " Ann@Example.COM ",
        "ann@example.com",
    )
    assert email["type"] == "EMAIL" and email["errors"] == []
    assert (email["status"], email["locked"], email["outcome"]) == ("SUBSCRIBED", False, "applied")
    assert email["updatedAt"].endswith("Z")
    assert email["groups"] == [
        {
            "id": group_id("newsletter"),
            "name": "newsletter",
            "status": "SUBSCRIBED",
            "updatedAt": email["updatedAt"],
            "outcome": "applied",
        }
    ]
    assert (sms["key"], sms["normalizedKey"], sms["status"]) == (
        "(415) 555-2671",
        PHONE,
        "UNSUBSCRIBED",
    )
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
    # The request id in the header is the one recorded (the evidence's `source`).
    assert inbox_rows(data_dir, "SELECT request_id FROM requests") == [
        (response.headers["x-request-id"],)
    ]


def test_one_bad_entry_is_a_failure_and_the_others_are_recorded(
    client: httpx.Client, data_dir: Path
) -> None:
    response = put(
        client,
        {"key": "ok@example.com", "type": "EMAIL", "status": "subscribed"},
        {"key": "not-an-email", "type": "EMAIL", "status": "subscribed"},
        {"key": "12", "type": "SMS", "status": "subscribed"},
        {
            "key": PHONE,
            "type": "SMS",
            "status": "subscribed",
            "groups": [{"name": "g", "status": "SUBSCRIBED"}],
        },
        {
            "key": "a@example.com",
            "type": "EMAIL",
            "groups": [{"name": " ", "status": "SUBSCRIBED"}],
        },
        {"key": "device-token-1", "type": "IOS_PUSH", "status": "SUBSCRIBED"},
        {"key": "device-token-2", "type": "ANDROID_PUSH", "status": "UNSUBSCRIBED"},
        {"key": "b@example.com", "type": "EMAIL"},
        {"key": "c@example.com", "type": "EMAIL", "status": "unsubscribed"},
    )
    successes, failures = answer(response)
    assert [(s["index"], s["key"]) for s in successes] == [
        (0, "ok@example.com"),
        (8, "c@example.com"),
    ]
    assert [
        (f["index"], f["key"], f["type"], [e["code"] for e in f["errors"]]) for f in failures
    ] == [
        (1, "not-an-email", "EMAIL", ["INVALID_EMAIL"]),
        (2, "12", "SMS", ["INVALID_PHONE"]),
        (3, PHONE, "SMS", ["INVALID_GROUP"]),
        (4, "a@example.com", "EMAIL", ["INVALID_GROUP"]),
        (5, "device-token-1", "IOS_PUSH", ["UNSUPPORTED_CHANNEL"]),
        (6, "device-token-2", "ANDROID_PUSH", ["UNSUPPORTED_CHANNEL"]),
        (7, "b@example.com", "EMAIL", ["INVALID_SUBSCRIPTION_STATUS"]),
    ]
    assert {f["outcome"] for f in failures} == {"rejected"}
    assert inbox_rows(data_dir, "SELECT contact, status FROM entries ORDER BY seq") == [
        ("ok@example.com", "subscribed"),
        ("c@example.com", "unsubscribed"),
    ]


def test_a_request_of_the_wrong_shape_is_a_422_envelope_and_records_nothing(
    client: httpx.Client, data_dir: Path
) -> None:
    response = put(
        client,
        {"key": "ok@example.com", "type": "EMAIL", "status": "subscribed"},
        {"key": "a@example.com", "type": "EMAIL", "status": "maybe"},
        {"key": "a@example.com", "type": "FAX", "status": "subscribed"},
        {"key": "a@example.com", "type": "EMAIL", "status": "subscribed", "groups": [{"x": 1}]},
        {"key": 42, "type": "EMAIL", "status": "subscribed"},
        "not an object",
    )
    assert response.status_code == 422
    assert error_codes(response) == [
        (1, "INVALID_SUBSCRIPTION_STATUS"),
        (2, "INVALID_CHANNEL"),
        (3, "INVALID_GROUP"),
        (4, "MISSING_IDENTIFIER"),
        (5, "INVALID_REQUEST"),
    ]
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields[:3] == [
        "subscriptions[1].status",
        "subscriptions[2].type",
        "subscriptions[3].groups[0]",
    ]
    assert {e["type"] for e in response.json()["errors"]} == {"input-validation"}
    assert inbox_rows(data_dir, "SELECT count(*) FROM entries") == [(0,)]
    malformed = client.put(PUT, content=b"{not json", headers={"content-type": "application/json"})
    assert malformed.status_code == 422 and error_codes(malformed) == [(None, "INVALID_JSON")]
    no_list = client.put(PUT, json={"subscriptions": {"key": "a@example.com"}})
    assert no_list.status_code == 422 and error_codes(no_list) == [(None, "INVALID_REQUEST")]


def test_empty_requests_get_empty_answers(client: httpx.Client, data_dir: Path) -> None:
    assert answer(put(client)) == ([], [])
    empty = client.post(BATCH, json={"subscriptions": []})
    assert empty.json() == {"data": {"successes": [], "failures": [], "errors": []}}
    assert inbox_rows(data_dir, "SELECT count(*) FROM entries") == [(0,)]


def test_requests_without_a_valid_bearer_token_are_refused(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("SUBSCRIPTION_API_TOKENS", f" other , crm:{TOKEN} ,")
    tokens = tokens_from_env()
    assert tokens == {"other": anonymous_name("other"), TOKEN: "crm"}
    body = {"subscriptions": [{"key": "a@example.com", "type": "EMAIL", "status": "subscribed"}]}
    with running_service(settings_for(data_dir, tokens=tokens)) as client:
        url = f"{client.base_url}{PUT}"
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            refused = httpx.put(url, json=body, headers=headers)
            check_answer(refused)
            assert refused.status_code == 401 and error_codes(refused) == [(None, "UNAUTHORIZED")]
            assert refused.headers["www-authenticate"] == "Bearer"
        # Even a malformed body gets 401, not 422, without a token.
        assert httpx.put(url, content=b"{").status_code == 401
        assert inbox_rows(data_dir, "SELECT count(*) FROM entries") == [(0,)]
        other = httpx.put(url, json=body, headers={"Authorization": "Bearer other"})
        assert other.status_code == 200
        assert client.put(PUT, json=body).status_code == 200
    # One line per reply, with the client's name and never a token.
    assert "-> 401" in caplog.text and "client=crm" in caplog.text
    assert f"client={anonymous_name('other')}" in caplog.text
    assert TOKEN not in caplog.text and "Bearer" not in caplog.text


def test_oversized_requests_are_refused_with_413(data_dir: Path) -> None:
    settings = settings_for(data_dir, max_body_bytes=2_000, max_entries=5)
    entry = {"key": "a@example.com", "type": "EMAIL", "status": "subscribed"}
    with running_service(settings) as client:
        big = put(client, *[entry] * 40)
        assert big.status_code == 413 and error_codes(big) == [(None, "REQUEST_TOO_LARGE")]

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
            yield b'{"subscriptions": ['
            for _ in range(60):
                yield b'{"key": "a@example.com", "type": "EMAIL", "status": "subscribed"},'
            yield b"]}"

        streamed = client.put(PUT, content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        many = put(client, *[entry] * 6)
        assert many.status_code == 413 and error_codes(many) == [(None, "TOO_MANY_ENTRIES")]
        lookups = client.post(BATCH, json={"subscriptions": [entry] * 6})
        assert lookups.status_code == 413
        assert put(client, *[entry] * 5).status_code == 200
    assert inbox_rows(data_dir, "SELECT count(*) FROM entries") == [(5,)]


def test_other_spaces_are_404_and_unknown_paths_are_enveloped(client: httpx.Client) -> None:
    body = {"subscriptions": [{"key": "a@example.com", "type": "EMAIL", "status": "subscribed"}]}
    for method, path in (("PUT", PUT), ("POST", BATCH)):
        other = client.request(method, path.replace(SPACE, "other-space"), json=body)
        assert other.status_code == 404 and error_codes(other) == [(None, "SPACE_NOT_FOUND")]
        # The space is checked before the body.
        bad_body = client.request(method, path.replace(SPACE, "other-space"), content=b"{")
        assert bad_body.status_code == 404
    assert client.get("/nothing-here").status_code == 404
    assert client.get(PUT).status_code == 405


def test_spaces_come_from_the_environment_and_an_inbox_keeps_to_its_spaces(
    data_dir: Path,
) -> None:
    assert parse_spaces(" a , b,,") == {"a", "b"}
    assert parse_spaces(None) == parse_spaces(" ") == {SAMPLE_SPACE_ID}
    with running_service(settings_for(data_dir)) as client:
        put(client, {"key": "a@example.com", "type": "EMAIL", "status": "subscribed"})
    # The same data dir served for another space would answer it from space1's state: refused.
    with pytest.raises(SpaceMismatch, match="space1"):
        create_app(settings_for(data_dir, spaces=frozenset({"space2"})))
    create_app(settings_for(data_dir, spaces=frozenset({"space2", SPACE}))).state.service.close()


def test_a_stop_locked_number_asked_to_subscribe_is_a_failure(
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
        response = put(
            client,
            {"key": "4155552671", "type": "SMS", "status": "subscribed"},
            {"key": "ok@example.com", "type": "EMAIL", "status": "subscribed"},
        )
        [ok], [item] = answer(response)
        assert ok["key"] == "ok@example.com"
        assert [e["code"] for e in item["errors"]] == ["UNABLE_TO_SUBSCRIBE"]
        assert item["outcome"] == "blocked" and item["reason"] == "UNABLE_TO_SUBSCRIBE"
        # The honest state beside the error: what holds for the number.
        assert (item["status"], item["locked"]) == ("UNSUBSCRIBED", True)
        assert item["updatedAt"] == "2024-01-02T00:00:00Z"
        # Recorded all the same: the reconcile replays it and blocks it there too.
        assert inbox_rows(data_dir, "SELECT contact, status FROM entries ORDER BY seq") == [
            (PHONE, "subscribed"),
            ("ok@example.com", "subscribed"),
        ]
        same = put(client, {"key": PHONE, "type": "SMS", "status": "unsubscribed"})
        [again], [] = answer(same)
        assert (again["outcome"], again["reason"]) == ("ignored", "LOCKED_NO_CHANGE")


def test_group_subscribe_without_a_subscribed_email_is_a_failure(client: httpx.Client) -> None:
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
    [], [item] = answer(response)
    assert (item["status"], item["outcome"]) == ("DID_NOT_SUBSCRIBE", "applied")
    assert [e["code"] for e in item["errors"]] == ["GLOBAL_STATE_NOT_SUBSCRIBED"]
    assert "'news'" in item["errors"][0]["message"]
    assert item["groups"] == []  # the group has no status: named in errors only
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
    [item], [] = answer(subscribed)
    assert item["groups"][0]["outcome"] == "applied"
    unsubscribed = put(client, {"key": email, "type": "EMAIL", "status": "unsubscribed"})
    [item], [] = answer(unsubscribed)
    assert item["status"] == "UNSUBSCRIBED" and item["groups"] == []
    lookup = client.post(BATCH, json={"subscriptions": [{"key": email, "type": "email"}]})
    [state], [] = answer(lookup)
    # The cascade: every known group of the email follows its unsubscribe.
    assert [(g["id"], g["name"], g["status"]) for g in state["groups"]] == [
        (group_id("news"), "news", "UNSUBSCRIBED")
    ]


def test_an_entry_without_status_updates_its_groups_only(
    client: httpx.Client, data_dir: Path
) -> None:
    email = "grace@example.com"
    put(client, {"key": email, "type": "EMAIL", "status": "subscribed"})
    response = put(
        client,
        {"key": email, "type": "EMAIL", "groups": [{"name": "offers", "status": "SUBSCRIBED"}]},
    )
    [item], [] = answer(response)
    assert item["status"] == "SUBSCRIBED" and "outcome" not in item
    assert [(g["name"], g["status"], g["outcome"]) for g in item["groups"]] == [
        ("offers", "SUBSCRIBED", "applied")
    ]
    assert inbox_rows(data_dir, "SELECT subscription_group, status FROM entries ORDER BY seq") == [
        (None, "subscribed"),
        ("offers", "subscribed"),
    ]
    # On a contact never seen, the group subscribe is blocked and the answer has no status.
    unknown = put(
        client,
        {
            "key": "new@example.com",
            "type": "EMAIL",
            "groups": [{"name": "offers", "status": "SUBSCRIBED"}],
        },
    )
    [], [item] = answer(unknown)
    assert "status" not in item and item["groups"] == []
    assert [e["code"] for e in item["errors"]] == ["GLOBAL_STATE_NOT_SUBSCRIBED"]


def test_group_ids_are_the_same_in_every_answer_and_after_a_reconcile(
    data_dir: Path, tmp_path: Path
) -> None:
    assert group_id("news") == group_id("news") != group_id("News")
    publish_state(
        data_dir,
        tmp_path,
        [
            obs("csv", "email", "d@example.com", "subscribed", datetime(2024, 1, 1), ref="a.csv"),
            obs(
                "csv",
                "email",
                "d@example.com",
                "subscribed",
                datetime(2024, 1, 1),
                ref="a.csv",
                group="news",
                row=2,
            ),
        ],
    )
    with running_service(settings_for(data_dir)) as client:
        lookup = client.post(
            BATCH, json={"subscriptions": [{"key": "d@example.com", "type": "EMAIL"}]}
        )
        [found], [] = answer(lookup)
        updated = put(
            client,
            {
                "key": "e@example.com",
                "type": "EMAIL",
                "status": "subscribed",
                "groups": [{"name": "news", "status": "subscribed"}],
            },
        )
        [item], [] = answer(updated)
    assert found["groups"][0]["id"] == item["groups"][0]["id"] == group_id("news")


def test_same_idempotency_key_is_recorded_once_and_answered_the_same(
    client: httpx.Client, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    entry = {"key": "c@example.com", "type": "EMAIL", "status": "subscribed"}
    first = put(client, entry, key="retry-1")
    second = put(client, entry, key="retry-1")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert inbox_rows(data_dir, "SELECT count(*) FROM entries") == [(1,)]
    assert inbox_rows(data_dir, "SELECT count(*) FROM requests") == [(1,)]
    reused = put(client, {**entry, "status": "unsubscribed"}, key="retry-1")
    assert reused.status_code == 409 and error_codes(reused) == [(None, "IDEMPOTENCY_KEY_REUSED")]
    # The 409 is logged like every other reply (issue 14, item 9).
    assert f"-> 409 {reused.headers['x-request-id']}" in caplog.text
    other = put(client, entry, key="retry-2")
    assert other.status_code == 200 and other.content != first.content
    assert inbox_rows(data_dir, "SELECT count(*) FROM entries") == [(2,)]


def test_batch_lookup_answers_known_and_unknown_contacts_and_names_bad_ones(
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
                    {"key": "device", "type": "IOS_PUSH"},
                    {"key": "a@example.com", "type": "fax"},
                ]
            },
        )
    successes, failures = answer(response)
    assert response.json()["data"]["errors"] == []
    found = [
        (s["key"], s["normalizedKey"], s["type"], s.get("status"), s.get("source"))
        for s in successes
    ]
    assert found == [
        ("D@example.com", "d@example.com", "EMAIL", "SUBSCRIBED", "csv"),
        (PHONE, PHONE, "WHATSAPP", "SUBSCRIBED", "api"),
        ("nobody@example.com", "nobody@example.com", "EMAIL", None, None),  # not found: no status
    ]
    assert successes[0]["updatedAt"] == "2024-01-01T00:00:00Z"
    assert [(f["index"], f["key"], f["type"], f["errors"][0]["code"]) for f in failures] == [
        (3, "x", "SMS", "INVALID_PHONE"),
        (4, "device", "IOS_PUSH", "UNSUPPORTED_CHANNEL"),
        (5, "a@example.com", "fax", "INVALID_CHANNEL"),  # the type exactly as sent
    ]


def test_logs_hold_no_email_phone_or_token(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    put(client, {"key": "secret.person@example.com", "type": "EMAIL", "status": "subscribed"})
    put(client, {"key": "secret.person@", "type": "EMAIL", "status": "subscribed"})
    put(client, {"key": "secret.person@", "type": "EMAIL", "status": "nope"})
    client.post(BATCH, json={"subscriptions": [{"key": "4155552671", "type": "SMS"}]})
    assert "accepted req_" in caplog.text and "-> 422" in caplog.text
    for needle in ("secret.person", "4155552671", PHONE, TOKEN):
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
            answers[number] = response.json()["data"]["successes"][0]

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


def test_an_internal_error_is_a_500_in_the_envelope(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object, **__: object) -> str:
        raise OSError("disk gone")

    monkeypatch.setattr(SubscriptionService, "put", broken)
    response = put(client, {"key": "a@example.com", "type": "EMAIL", "status": "subscribed"})
    assert response.status_code == 500 and error_codes(response) == [(None, "INTERNAL_ERROR")]
