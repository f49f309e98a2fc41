"""The inbox as a pipeline source: PUT, reconcile through Dagster, state with source 'api';
a confirmed change survives a kill -9 of the service."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from subscription_pipeline.api.published_state import Snapshot, snapshot_path
from subscription_pipeline.cli import main
from subscription_pipeline.direct_run import run_engine
from subscription_pipeline.ingest.api_inbox import ingest_inbox_day
from subscription_pipeline.ingest.inbox_pending import pending_inbox_days
from subscription_pipeline.orchestration.runner import reconcile
from subscription_pipeline.resolve.engine import resolve_pending
from subscription_pipeline.warehouse.connection import connect
from tests.segment_models import check_answer
from tests.test_api_service import (
    PHONE,
    PUT,
    SPACE,
    TOKEN,
    free_port,
    inbox_rows,
    put,
    running_service,
    settings_for,
)


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    con = connect(warehouse, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_put_then_reconcile_shows_the_change_with_source_api(
    dagster_home: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    warehouse = tmp_path / "warehouse.duckdb"
    with running_service(settings_for(data_dir)) as client:
        first = put(
            client,
            {
                "key": "ann@example.com",
                "type": "EMAIL",
                "status": "subscribed",
                "groups": [{"name": "news", "status": "subscribed"}],
            },
            {"key": PHONE, "type": "SMS", "status": "unsubscribed"},
        )
        assert first.status_code == 200
        [(request_id, day)] = inbox_rows(data_dir, "SELECT request_id, day FROM requests")
        assert pending_inbox_days(data_dir) == [day]

        result = reconcile(data_dir, warehouse)
        assert result.inbox_days == [day]
        assert any(run.job == "ingest_api_inbox" for run in result.runs)
        state = _rows(
            warehouse,
            "SELECT channel, contact, subscription_group, status, source, source_ref "
            "FROM subscription_state ORDER BY channel, subscription_group NULLS FIRST",
        )
        assert state == [
            ("email", "ann@example.com", None, "subscribed", "api", request_id),
            ("email", "ann@example.com", "news", "subscribed", "api", request_id),
            ("sms", PHONE, None, "unsubscribed", "api", request_id),
        ]
        assert _rows(
            warehouse,
            "SELECT source_file, source_kind, partition_key, rows_in, applied, rejected "
            "FROM input_ledger",
        ) == [(f"inbox/{day}", "api", f"api:{day}", 3, 3, 0)]
        assert pending_inbox_days(data_dir) == []

        # The published snapshot holds the reconciled state and marks the inbox entries in it.
        snapshot = Snapshot(snapshot_path(data_dir))
        assert snapshot.rows == 3 and snapshot.inbox_through_seq == 3
        # Group ids are the same before and after the reconcile (made from the name alone).
        [answered, _] = first.json()["data"]["successes"]
        lookup = client.post(
            PUT + "/batch", json={"subscriptions": [{"key": "ann@example.com", "type": "EMAIL"}]}
        )
        [found] = lookup.json()["data"]["successes"]
        assert found["groups"][0]["id"] == answered["groups"][0]["id"]
        # A new request is answered from that snapshot plus itself.
        later = put(client, {"key": "ann@example.com", "type": "EMAIL", "status": "unsubscribed"})
        [item] = later.json()["data"]["successes"]
        assert item["status"] == "UNSUBSCRIBED" and item["outcome"] == "applied"

    second = reconcile(data_dir, warehouse)
    assert second.inbox_days == [day]
    assert _rows(
        warehouse,
        "SELECT status, source FROM subscription_state "
        "WHERE contact = 'ann@example.com' ORDER BY subscription_group NULLS FIRST",
    ) == [("unsubscribed", "api"), ("unsubscribed", "cascade")]
    assert reconcile(data_dir, warehouse).inbox_days == []


def _put_one_change(data_dir: Path) -> tuple[str, str]:
    """A PUT accepted by the service and recorded in the inbox: (request_id, accepted day)."""
    data_dir.mkdir(exist_ok=True)
    with running_service(settings_for(data_dir)) as client:
        answer = put(client, {"key": "cy@example.com", "type": "EMAIL", "status": "unsubscribed"})
        assert answer.status_code == 200
    [(request_id, day)] = inbox_rows(data_dir, "SELECT request_id, day FROM requests")
    return request_id, day


CY_STATE = "SELECT contact, status, source, source_ref FROM subscription_state"


def test_the_engine_without_dagster_ingests_the_api_inbox(tmp_path: Path) -> None:
    """direct_run leaves no source out: uploads, log days, then the inbox, then resolution."""
    data_dir, warehouse = tmp_path / "data", tmp_path / "warehouse.duckdb"
    request_id, day = _put_one_change(data_dir)

    run = run_engine(data_dir, warehouse)

    assert run.inbox_days == 1
    assert _rows(warehouse, CY_STATE) == [("cy@example.com", "unsubscribed", "api", request_id)]
    assert pending_inbox_days(data_dir) == []  # marked as ingested, as a reconcile marks it
    assert run_engine(data_dir, warehouse).inbox_days == 1  # every input again, idempotent
    assert _rows(warehouse, CY_STATE) == [("cy@example.com", "unsubscribed", "api", request_id)]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_backfill_ingests_the_api_inbox(
    dagster_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data_dir, warehouse = tmp_path / "data", tmp_path / "warehouse.duckdb"
    request_id, day = _put_one_change(data_dir)
    paths = ["--data-dir", str(data_dir), "--warehouse", str(warehouse)]

    # A backfill of nothing else still takes in what the service accepted since the last run.
    assert main(["backfill", *paths]) == 0, capsys.readouterr().err
    assert "and 1 API inbox days" in capsys.readouterr().out
    assert _rows(warehouse, CY_STATE) == [("cy@example.com", "unsubscribed", "api", request_id)]
    # A backfill of the accepted day re-ingests the inbox day too, though nothing is pending.
    assert pending_inbox_days(data_dir) == []
    assert main(["backfill", "--days", f"{day}..{day}", *paths]) == 0
    assert "and 1 API inbox days" in capsys.readouterr().out
    assert _rows(warehouse, CY_STATE) == [("cy@example.com", "unsubscribed", "api", request_id)]


def test_ingesting_an_inbox_day_again_replaces_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with running_service(settings_for(data_dir)) as client:
        put(client, {"key": "b@example.com", "type": "EMAIL", "status": "subscribed"})
        put(client, {"key": "b@example.com", "type": "EMAIL", "status": "did_not_subscribe"})
    [(day,)] = inbox_rows(data_dir, "SELECT DISTINCT day FROM entries")
    con = connect(tmp_path / "warehouse.duckdb")
    try:
        for _ in range(2):
            entry = ingest_inbox_day(con, data_dir, day)
            assert entry.balanced and (entry.rows_in, entry.applied) == (2, 2)
            resolve_pending(con)
            observations = con.execute(
                "SELECT source, row_number, status FROM observations ORDER BY row_number"
            ).fetchall()
            assert [(seq, status) for _, seq, status in observations] == [
                (1, "subscribed"),
                (2, "did_not_subscribe"),
            ]
        # An API did_not_subscribe is a manual override: applied, not DNS_AFTER_DECISION.
        assert con.execute("SELECT status, source FROM subscription_state").fetchall() == [
            ("did_not_subscribe", "api")
        ]
    finally:
        con.close()


def test_a_confirmed_change_survives_kill_9_of_the_service(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    env = {**os.environ, "SUBSCRIPTION_API_TOKENS": TOKEN, "SUBSCRIPTION_SPACE_ID": SPACE}
    command = [sys.executable, "-m", "subscription_pipeline.cli", "serve", "--port", str(port)]
    service = subprocess.Popen(
        [*command, "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}{PUT}"
        headers = {"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "k1"}
        body = {"subscriptions": [{"key": PHONE, "type": "SMS", "status": "unsubscribed"}]}
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.put(url, json=body, headers=headers)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.2)
        assert response.status_code == 200
        check_answer(response)
    finally:
        service.send_signal(signal.SIGKILL)
        service.wait(timeout=30)
    assert inbox_rows(data_dir, "SELECT contact, status FROM entries") == [(PHONE, "unsubscribed")]
    assert inbox_rows(data_dir, "SELECT idempotency_key FROM requests") == [("k1",)]
