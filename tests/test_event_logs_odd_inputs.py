"""Odd log inputs are put on record, never lost and never a reason to stop the night (issue 14)."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from subscription_pipeline.ingest.event_logs import (
    ODD_FOLDERS_PARTITION,
    list_log_days,
    log_files_for_day,
)
from subscription_pipeline.ingest.log_layout import LOGS_DIR, judge_day_folder, odd_day_folders
from subscription_pipeline.warehouse.connection import connect
from tests.log_files import (
    DAY,
    SOURCE_ID,
    entry,
    identify,
    inbound,
    ingest_day,
    write_day_log,
    write_log,
)

TODAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("name", "code", "says"),
    [
        ("1710460800", "INVALID_DAY_FOLDER", "epoch seconds"),  # seconds
        ("20240315", "INVALID_DAY_FOLDER", "YYYYMMDD"),
        ("1710460800000000", "INVALID_DAY_FOLDER", "microseconds"),  # OverflowError before
        ("1710460800123", "INVALID_DAY_FOLDER", "not a UTC midnight"),
        ("01710460800000", "INVALID_DAY_FOLDER", "epoch milliseconds"),
        ("latest", "INVALID_DAY_FOLDER", "epoch milliseconds"),
        ("\u0661\u0662", "INVALID_DAY_FOLDER", "epoch milliseconds"),  # non-ASCII digits
        ("1388534400000", "DAY_OUT_OF_RANGE", "2014-01-01"),  # before the partitions
        ("4102444800000", "DAY_OUT_OF_RANGE", "2100-01-01"),  # after today
    ],
)
def test_a_folder_that_is_not_a_received_day_is_judged(name: str, code: str, says: str) -> None:
    judged = judge_day_folder(name, today=TODAY)

    assert not isinstance(judged, str)
    assert judged.error_code == code
    assert says in judged.error_message


def test_received_days_in_range_are_days() -> None:
    assert judge_day_folder("1710460800000", today=TODAY) == "2024-03-15"
    assert judge_day_folder("1420070400000", today=TODAY) == "2015-01-01"
    assert judge_day_folder("1764720000000", today=TODAY) == "2025-12-03"


def test_odd_folders_are_on_record_and_the_day_still_ingests(con, tmp_path: Path) -> None:
    write_log(tmp_path, DAY, "a.gz", [identify("m1", [entry("a@example.com")])])
    source = tmp_path / LOGS_DIR / SOURCE_ID
    for name in ("1710460800", "20240315", "1710460800000000", "1388534400000"):
        (source / name).mkdir()
        (source / name / "x.gz").write_bytes(gzip.compress(b"{}\n"))

    assert list_log_days(tmp_path) == [DAY]
    [row] = ingest_day(con, tmp_path)

    assert (row.status, row.applied) == ("ingested", 1)
    on_record = con.sql(
        "SELECT source_file, status, rows_in, error_code FROM input_ledger "
        "WHERE partition_key = ? ORDER BY source_file",
        params=[ODD_FOLDERS_PARTITION],
    ).fetchall()
    assert on_record == [
        (f"{LOGS_DIR}/{SOURCE_ID}/1388534400000", "rejected", 0, "DAY_OUT_OF_RANGE"),
        (f"{LOGS_DIR}/{SOURCE_ID}/1710460800", "rejected", 0, "INVALID_DAY_FOLDER"),
        (f"{LOGS_DIR}/{SOURCE_ID}/1710460800000000", "rejected", 0, "INVALID_DAY_FOLDER"),
        (f"{LOGS_DIR}/{SOURCE_ID}/20240315", "rejected", 0, "INVALID_DAY_FOLDER"),
    ]
    assert con.sql(
        "SELECT source_file, row_number, error_code FROM rejections "
        "WHERE partition_key = ? ORDER BY source_file",
        params=[ODD_FOLDERS_PARTITION],
    ).fetchall() == [(path, None, code) for path, _, _, code in on_record]

    # Once a folder is renamed to its day, the next ingest no longer lists it.
    (source / "1710460800").rename(source / "1710547200000")
    ingest_day(con, tmp_path)
    assert len(odd_day_folders(tmp_path)) == 3
    assert con.sql(
        "SELECT count(*) FROM input_ledger WHERE partition_key = ?",
        params=[ODD_FOLDERS_PARTITION],
    ).fetchall() == [(3,)]


@pytest.mark.parametrize(
    ("subscriptions", "field", "got"),
    [
        ("SUBSCRIBED", "context.messaging_subscriptions", "a string"),
        (
            {"key": "a@example.com", "type": "EMAIL", "status": "UNSUBSCRIBED"},
            "context.messaging_subscriptions",
            "one object",
        ),
        (7, "context.messaging_subscriptions", "a number"),
        (True, "context.messaging_subscriptions", "a boolean"),
    ],
)
def test_subscriptions_of_the_wrong_type_are_rejected(
    con, tmp_path: Path, subscriptions, field: str, got: str
) -> None:
    write_log(tmp_path, DAY, "a.gz", [identify("m1", subscriptions)])

    [row] = ingest_day(con, tmp_path)

    assert (row.applied, row.ignored, row.rejected) == (0, 0, 1)
    [(code, message)] = con.sql("SELECT error_code, error_message FROM rejections").fetchall()
    assert code == "INVALID_SUBSCRIPTIONS"
    assert message.startswith(field)
    assert got in message


def test_null_subscriptions_are_no_subscriptions(con, tmp_path: Path) -> None:
    write_log(tmp_path, DAY, "a.gz", [identify("m1", None)])

    [row] = ingest_day(con, tmp_path)

    assert (row.applied, row.ignored, row.rejected) == (0, 1, 0)


@pytest.mark.parametrize(
    ("groups", "got"), [("newsletter", "a string"), ({"name": "n"}, "one object"), (3, "a number")]
)
def test_groups_of_the_wrong_type_reject_their_entry_only(
    con, tmp_path: Path, groups, got: str
) -> None:
    write_day_log(
        tmp_path,
        [
            identify(
                "m1",
                [
                    entry("a@example.com", status="UNSUBSCRIBED", groups=groups),
                    entry("+14155550101", "SMS", "UNSUBSCRIBED"),
                ],
            )
        ],
    )

    [row] = ingest_day(con, tmp_path)

    assert (row.applied, row.rejected) == (1, 0)
    assert con.sql("SELECT channel FROM observations").fetchall() == [("sms",)]
    [(code, message)] = con.sql("SELECT error_code, error_message FROM rejections").fetchall()
    assert code == "INVALID_SUBSCRIPTIONS"
    assert message.startswith("messaging_subscriptions[0].groups must be a list")
    assert message.endswith(got)


def test_log_files_are_listed_and_read_whatever_the_case_of_gz(con, tmp_path: Path) -> None:
    upper = write_log(tmp_path, DAY, "A.GZ", [])
    path = tmp_path / upper
    path.write_bytes(gzip.compress(json.dumps(identify("m1", [entry("a@example.com")])).encode()))
    write_log(tmp_path, DAY, "b.Json", [identify("m2", [entry("b@example.com")])])

    assert [Path(f).name for f in log_files_for_day(tmp_path, DAY)] == ["A.GZ", "b.Json"]
    rows = ingest_day(con, tmp_path)

    assert [(Path(r.source_file).name, r.status, r.applied) for r in rows] == [
        ("A.GZ", "ingested", 1),
        ("b.Json", "ingested", 1),
    ]


def test_received_at_after_its_day_is_clamped_with_a_warning(con, tmp_path: Path) -> None:
    write_day_log(
        tmp_path,
        [
            identify(
                "m1",
                [entry("a@example.com", status="UNSUBSCRIBED")],
                timestamp="2099-01-01T00:00:00Z",
                received_at="2099-01-01T00:00:05Z",
            ),
            identify("m2", [entry("b@example.com")], received_at="2024-03-15T23:59:59Z"),
        ],
    )

    [row] = ingest_day(con, tmp_path)

    assert row.warnings == 2
    assert con.sql(
        "SELECT contact, effective_at::VARCHAR, received_at::VARCHAR FROM observations "
        "ORDER BY contact"
    ).fetchall() == [
        ("a@example.com", "2024-03-16 00:00:00", "2024-03-16 00:00:00"),
        ("b@example.com", "2024-03-15 10:00:00", "2024-03-15 23:59:59"),
    ]
    warnings = con.sql(
        "SELECT row_number, warning_code, warning_message FROM ingest_warnings ORDER BY ALL"
    ).fetchall()
    assert [(n, code) for n, code, _ in warnings] == [
        (1, "FUTURE_RECEIVED_AT"),
        (1, "FUTURE_TIMESTAMP"),
    ]
    assert "2099-01-01T00:00:05Z is after the end of its received day 2024-03-15" in warnings[0][2]


def test_evidence_is_kept_with_each_observation(con, tmp_path: Path) -> None:
    context = {
        "messaging_subscriptions": [entry("a@example.com", groups=[{"name": "news"}])],
        "ip": "203.0.113.9",
        "userAgent": "Mozilla/5.0",
        "page": {"url": "https://shop.example.com/prefs", "path": "/prefs"},
        "library": {"name": "analytics.js", "version": "5.2.0"},
    }
    event = {**identify("m1", []), "anonymousId": "anon-1", "context": context}
    event["context"]["messaging_subscriptions"][0]["groups"][0]["status"] = "SUBSCRIBED"
    keyword = inbound("k1", "+14155550101", " Stop ")
    keyword["properties"]["to"] = "+14155238886"
    write_log(tmp_path, DAY, "a.gz", [event, keyword])

    ingest_day(con, tmp_path)

    rows = con.sql(
        "SELECT o.source_kind, o.subscription_group, e.evidence FROM observations o "
        "JOIN record_evidence e USING (source_file, row_number) ORDER BY ALL"
    ).fetchall()
    event_evidence = {
        "message_id": "m1",
        "user_id": "user-1",
        "anonymous_id": "anon-1",
        "ip": "203.0.113.9",
        "user_agent": "Mozilla/5.0",
        "page_url": "https://shop.example.com/prefs",
        "page_path": "/prefs",
        "library": "analytics.js/5.2.0",
    }
    keyword_evidence = {
        "message_id": "k1",
        "user_id": "user-1",
        "body": " Stop ",
        "from": "+14155550101",
        "to": "+14155238886",
    }
    assert [(kind, group, json.loads(evidence)) for kind, group, evidence in rows] == [
        ("event", "news", event_evidence),
        ("event", None, event_evidence),
        ("keyword", None, keyword_evidence),
    ]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_reconcile_goes_on_past_odd_day_folders(dagster_home: Path, tmp_path: Path) -> None:
    from subscription_pipeline.orchestration.runner import reconcile

    data = tmp_path / "data"
    write_log(data, DAY, "a.gz", [identify("m1", [entry("a@example.com", status="UNSUBSCRIBED")])])
    source = data / LOGS_DIR / SOURCE_ID
    for name in ("1710460800", "20240315", "1710460800000000", "1388534400000", "latest"):
        (source / name).mkdir()
        (source / name / "x.gz").write_bytes(gzip.compress(b"{}\n"))
    warehouse = tmp_path / "warehouse.duckdb"

    result = reconcile(data, warehouse)

    assert all(run.success for run in result.runs)
    con = connect(warehouse, read_only=True)
    try:
        assert con.sql("SELECT contact, status FROM subscription_state").fetchall() == [
            ("a@example.com", "unsubscribed")
        ]
        assert con.sql(
            "SELECT count(*) FROM rejections WHERE partition_key = ?",
            params=[ODD_FOLDERS_PARTITION],
        ).fetchall() == [(5,)]
    finally:
        con.close()
