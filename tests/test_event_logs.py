"""Ingesting one received day of Segment event logs: observations, rejections, warnings, ledger."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import duckdb
import pytest

from tests.log_files import (
    DAY,
    day_dir,
    entry,
    identify,
    inbound,
    ingest_day,
    ledger,
    write_day_log,
    write_log,
)


def observations(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.sql(
        "SELECT row_number, source_kind, channel, contact, subscription_group, status "
        "FROM observations ORDER BY row_number, channel, subscription_group NULLS FIRST"
    ).fetchall()


def rejections(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.sql(
        "SELECT row_number, error_code FROM rejections ORDER BY row_number, error_code"
    ).fetchall()


def test_subscriptions_with_groups(con, tmp_path: Path) -> None:
    write_day_log(
        tmp_path,
        [
            identify(
                "m1",
                [
                    entry(
                        " Ann@Example.COM ",
                        "email",
                        "Subscribed",
                        groups=[
                            {"name": " Newsletter ", "status": "UNSUBSCRIBED"},
                            {"name": "offers", "status": "did_not_subscribe"},
                        ],
                    ),
                    # Groups on a phone channel are ignored; the channel status applies.
                    entry("(415) 555-2671", "SMS", "unsubscribed", groups=[{"name": "x"}]),
                    entry("+44 20 7946 0958", "WhatsApp", "DID_NOT_SUBSCRIBE"),
                ],
                anonymousId="anon-1",
            )
        ],
    )

    [row] = ingest_day(con, tmp_path)

    assert observations(con) == [
        (1, "event", "email", "ann@example.com", None, "subscribed"),
        (1, "event", "email", "ann@example.com", "Newsletter", "unsubscribed"),
        (1, "event", "email", "ann@example.com", "offers", "did_not_subscribe"),
        (1, "event", "sms", "+14155552671", None, "unsubscribed"),
        (1, "event", "whatsapp", "+442079460958", None, "did_not_subscribe"),
    ]
    refs = con.sql(
        "SELECT DISTINCT source_file, message_id, source, partition_key, user_id, anonymous_id, "
        "effective_at::VARCHAR, received_at::VARCHAR FROM observations"
    ).fetchall()
    assert refs == [
        (
            row.source_file,
            "m1",
            "m1",
            DAY,
            "user-1",
            "anon-1",
            "2024-03-15 10:00:00",
            "2024-03-15 10:00:05",
        )
    ]
    assert row.source_file == "segment-logs/src-web/1710460800000/a.gz"
    assert (row.status, row.rows_in, row.applied, row.rejected) == ("ingested", 1, 1, 0)
    assert row.content_sha256 is not None and row.size_bytes > 0


def test_keywords_stop_start_and_other_text(con, tmp_path: Path) -> None:
    write_log(
        tmp_path,
        DAY,
        "k.gz",
        [
            inbound("k1", "+1 415 555 2671", "  stop \n"),
            inbound("k2", "4155552671", "Start", event="WhatsApp Message Received"),
            inbound("k3", "+14155552671", "stop please"),
            inbound("k4", "+14155552671", "STOP", event="SMS Sent"),
            inbound("k5", "not-a-phone", "STOP"),
            inbound("k6", None, "unsubscribe"),
        ],
    )

    [row] = ingest_day(con, tmp_path)

    assert observations(con) == [
        (1, "keyword", "sms", "+14155552671", None, "unsubscribed"),
        (2, "keyword", "whatsapp", "+14155552671", None, "subscribed"),
    ]
    # An opt-out with a bad or missing sender cannot be applied but is on record.
    assert rejections(con) == [(5, "INVALID_PHONE"), (6, "INVALID_PHONE")]
    assert (row.rows_in, row.applied, row.ignored, row.rejected) == (6, 2, 2, 2)


def test_every_rejection_code_and_entry_independence(con, tmp_path: Path) -> None:
    write_log(
        tmp_path,
        DAY,
        "r.gz",
        [
            "{not json",
            "[1, 2]",
            identify(
                "e1",
                [
                    entry("good@example.com"),
                    entry("not-an-email"),
                    entry("12", "SMS"),
                    entry("a@example.com", "FAX"),
                    entry("b@example.com", status="maybe"),
                    entry("c@example.com", groups=[{"name": "news", "status": "sometimes"}]),
                    entry("d@example.com", groups=[{"name": "  ", "status": "subscribed"}]),
                    entry(None),
                ],
            ),
            identify("e2", [entry("bad-only")]),
        ],
    )

    [row] = ingest_day(con, tmp_path)

    # The one good entry of e1 applies although its siblings are rejected.
    assert observations(con) == [(3, "event", "email", "good@example.com", None, "subscribed")]
    assert rejections(con) == [
        (1, "INVALID_JSON"),
        (2, "INVALID_JSON"),
        (3, "INVALID_CHANNEL"),
        (3, "INVALID_EMAIL"),
        (3, "INVALID_EMAIL"),
        (3, "INVALID_GROUP"),
        (3, "INVALID_PHONE"),
        (3, "INVALID_SUBSCRIPTION_STATUS"),
        (3, "INVALID_SUBSCRIPTION_STATUS"),
        (4, "INVALID_EMAIL"),
    ]
    [(raw, message)] = con.sql(
        "SELECT raw_record, error_message FROM rejections WHERE error_code = 'INVALID_CHANNEL'"
    ).fetchall()
    assert '"messageId": "e1"' in raw
    assert message.startswith("messaging_subscriptions[3]: unknown type")
    assert con.sql("SELECT raw_record FROM rejections WHERE row_number = 1").fetchall() == [
        ("{not json",)
    ]
    # Line 3 applied something; lines 1, 2 and 4 are rejected whole.
    assert (row.rows_in, row.applied, row.ignored, row.rejected) == (4, 1, 0, 3)


def test_non_utf8_line_is_rejected_alone(con, tmp_path: Path) -> None:
    path = day_dir(tmp_path, DAY) / "bytes.jsonl"
    good = b'{"type":"identify","messageId":"u1","timestamp":"2024-03-15T10:00:00Z",'
    good += b'"context":{"messaging_subscriptions":[{"key":"a@example.com","type":"EMAIL",'
    good += b'"status":"SUBSCRIBED"}]}}'
    path.write_bytes(b'{"type":"identify","userId":"\xff"}\n' + good + b"\n")

    [row] = ingest_day(con, tmp_path)

    assert rejections(con) == [(1, "INVALID_JSON")]
    assert observations(con) == [(2, "event", "email", "a@example.com", None, "subscribed")]
    assert (row.rows_in, row.applied, row.rejected) == (2, 1, 1)


def test_ignored_lines(con, tmp_path: Path) -> None:
    write_log(
        tmp_path,
        DAY,
        "i.jsonl",
        [
            {"type": "page", "messageId": "p1", "name": "Home"},
            {"type": "track", "messageId": "t1", "event": "Clicked"},
            identify("i1", []),
            # A page carrying subscriptions is still not a subscription change.
            {"type": "page", "messageId": "p2", "context": identify("x", [entry("a@b.com")])},
            "   ",
            "",
        ],
    )

    [row] = ingest_day(con, tmp_path)

    assert observations(con) == []
    assert (row.rows_in, row.applied, row.ignored, row.rejected) == (6, 0, 6, 0)


@pytest.mark.parametrize(
    ("timestamp", "received_at", "code", "effective"),
    [
        (None, "2024-03-15T10:00:05Z", "MISSING_TIMESTAMP", "2024-03-15 10:00:05"),
        ("yesterday-ish", "2024-03-15T10:00:05Z", "INVALID_TIMESTAMP", "2024-03-15 10:00:05"),
        ("2024-03-15T10:06:00Z", "2024-03-15T10:00:05Z", "FUTURE_TIMESTAMP", "2024-03-15 10:00:05"),
        (None, None, "MISSING_TIMESTAMP", "2024-03-15 00:00:00"),
        ("2024-03-15T12:05:00+02:00", "2024-03-15T10:05:00Z", None, "2024-03-15 10:05:00"),
        ("2024-03-15T10:04:59", "2024-03-15T10:00:00Z", None, "2024-03-15 10:04:59"),
    ],
)
def test_timestamp_repairs_keep_the_opt_out(
    con, tmp_path: Path, timestamp, received_at, code, effective
) -> None:
    write_log(
        tmp_path,
        DAY,
        "t.gz",
        [identify("t1", [entry("a@example.com", status="unsubscribed")], timestamp, received_at)],
    )

    [row] = ingest_day(con, tmp_path)

    assert con.sql("SELECT status, effective_at::VARCHAR FROM observations").fetchall() == [
        ("unsubscribed", effective)
    ]
    warnings = con.sql("SELECT row_number, warning_code FROM ingest_warnings").fetchall()
    assert warnings == ([(1, code)] if code else [])
    assert (row.applied, row.warnings) == (1, 1 if code else 0)


def test_truncated_gzip_is_rejected_while_the_rest_of_the_day_ingests(con, tmp_path: Path) -> None:
    write_log(tmp_path, DAY, "good.gz", [identify("g1", [entry("a@example.com")])])
    broken = day_dir(tmp_path, DAY) / "broken.gz"
    payload = gzip.compress(
        b"".join(f'{{"type":"identify","messageId":"b{i}"}}\n'.encode() for i in range(2000))
    )
    broken.write_bytes(payload[: len(payload) // 2])

    entries = {e.source_file.rsplit("/", 1)[-1]: e for e in ingest_day(con, tmp_path)}

    assert entries["good.gz"].status == "ingested" and entries["good.gz"].applied == 1
    bad = entries["broken.gz"]
    assert (bad.status, bad.error_code, bad.rows_in) == ("rejected", "CORRUPT_FILE", 0)
    assert con.sql("SELECT source_file, row_number, error_code FROM rejections").fetchall() == [
        (bad.source_file, None, "CORRUPT_FILE")
    ]
    assert con.sql(
        "SELECT count(*) FROM log_messages WHERE source_file = ?", params=[bad.source_file]
    ).fetchall() == [(0,)]


def test_symlink_is_rejected_never_followed(con, tmp_path: Path) -> None:
    outside = tmp_path / "outside.gz"
    outside.write_bytes(gzip.compress(b"{}\n"))
    os.symlink(outside, day_dir(tmp_path, DAY) / "link.gz")

    [row] = ingest_day(con, tmp_path)

    assert (row.status, row.error_code, row.rows_in) == ("rejected", "NOT_A_REGULAR_FILE", 0)
    assert rejections(con) == [(None, "NOT_A_REGULAR_FILE")]
    assert observations(con) == []


def test_reingest_is_idempotent(con, tmp_path: Path) -> None:
    write_day_log(
        tmp_path,
        [
            identify("m1", [entry("a@example.com"), entry("bad")], timestamp=None),
            "{oops",
            inbound("k1", "+14155552671", "STOP"),
        ],
    )
    tables = ("observations", "rejections", "ingest_warnings", "log_messages", "input_ledger")

    def snapshot() -> dict[str, list]:
        return {
            t: sorted(map(str, con.sql(f"SELECT {_columns(t)} FROM {t}").fetchall()))
            for t in tables
        }

    first = ingest_day(con, tmp_path)
    before = snapshot()
    second = ingest_day(con, tmp_path)

    assert snapshot() == before
    assert [(e.rows_in, e.applied, e.rejected, e.warnings) for e in second] == [
        (e.rows_in, e.applied, e.rejected, e.warnings) for e in first
    ]
    assert before["observations"] and before["rejections"] and before["ingest_warnings"]


def _columns(table: str) -> str:
    # Only the ledger's write time changes between two ingests.
    return "* EXCLUDE (ingested_at)" if table == "input_ledger" else "*"


def test_reingest_after_a_file_is_removed_forgets_it(con, tmp_path: Path) -> None:
    write_log(tmp_path, DAY, "a.gz", [identify("m1", [entry("a@example.com")])])
    gone = write_log(tmp_path, DAY, "b.gz", [identify("m2", [entry("b@example.com")])])
    ingest_day(con, tmp_path)
    (tmp_path / gone).unlink()

    ingest_day(con, tmp_path)

    assert [o[3] for o in observations(con)] == ["a@example.com"]
    assert list(ledger(con)) == ["a.gz"]
