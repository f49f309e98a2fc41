"""Odd uploads that once rejected a whole file (issue 14): now only their own rows, or nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from subscription_pipeline.error_reports.error_report import write_error_report
from tests.csv_files import csv_text, ingest, observations, open_warehouse, rejections, write_upload


@pytest.mark.parametrize("blank", [b"   ", b"\t", b" \t ", b'""', b'"  "', b"\xc2\xa0"], ids=repr)
def test_a_line_of_only_whitespace_is_a_blank_line(tmp_path: Path, blank: bytes) -> None:
    content = (
        b"email,email_subscription_status\n"
        + blank
        + b"\na@example.com,unsubscribed\n"
        + blank
        + b"\r\nb@example.com,subscribed\n"
        + blank
    )
    write_upload(tmp_path, "ws.csv", content)
    con = open_warehouse(tmp_path)
    entry = ingest(con, tmp_path, "ws.csv")
    assert (entry.status, entry.rows_in, entry.applied, entry.rejected) == ("ingested", 2, 2, 0)
    assert observations(con, "ws.csv") == [
        (1, "email", "a@example.com", None, "unsubscribed"),
        (2, "email", "b@example.com", None, "subscribed"),
    ]


def test_whitespace_lines_in_a_one_column_upload(tmp_path: Path) -> None:
    write_upload(tmp_path, "one.csv", b"email\n  \na@example.com\n\t\nb@example.com\n")
    con = open_warehouse(tmp_path)
    entry = ingest(con, tmp_path, "one.csv")
    assert (entry.status, entry.rows_in, entry.applied) == ("ingested", 2, 2)
    assert rejections(con, "one.csv") == []


def test_a_whitespace_line_before_the_header_is_skipped(tmp_path: Path) -> None:
    write_upload(
        tmp_path, "lead.csv", b"   \nemail,email_subscription_status\na@example.com,true\n"
    )
    entry = ingest(open_warehouse(tmp_path), tmp_path, "lead.csv")
    assert (entry.status, entry.rows_in, entry.applied) == ("ingested", 1, 1)


def test_a_short_row_with_text_still_rejects_the_upload(tmp_path: Path) -> None:
    write_upload(
        tmp_path, "short.csv", b"email,email_subscription_status\n x \na@example.com,true\n"
    )
    entry = ingest(open_warehouse(tmp_path), tmp_path, "short.csv")
    assert (entry.status, entry.error_code) == ("rejected", "CSV_PARSE_ERROR")
    assert "line 2 (data row 1) has 1 fields" in (entry.error_message or "")


BIG = "x" * 300_000


@pytest.mark.parametrize(
    ("row", "code", "kept"),
    [
        ([BIG + "@example.com", "+16502530000", "true", "true", ""], "INVALID_EMAIL", ["sms"]),
        (["a@example.com", BIG, "true", "true", ""], "INVALID_PHONE", ["email"]),
        (["a@example.com", "+16502530000", BIG, "", ""], "INVALID_SUBSCRIPTION_STATUS", ["sms"]),
        (["a@example.com", "+16502530000", "true", "", BIG], "VALUE_TOO_LONG", []),
    ],
    ids=["email", "phone", "status", "user_id"],
)
def test_a_300_kb_cell_is_an_error_of_its_vector_or_row(
    tmp_path: Path, row: list[str], code: str, kept: list[str]
) -> None:
    header = ["email", "phone", "email_subscription_status", "sms_subscription_status", "user_id"]
    good = ["b@example.com", "+16502530001", "unsubscribed", "false", "u2"]
    write_upload(tmp_path, "big.csv", csv_text(header, [good, row, good]))
    con = open_warehouse(tmp_path)
    entry = ingest(con, tmp_path, "big.csv")
    assert (entry.status, entry.rows_in) == ("ingested", 3)
    assert rejections(con, "big.csv") == [(2, code)]
    assert (
        sorted({channel for number, channel, *_ in observations(con, "big.csv") if number == 2})
        == kept
    )
    assert {number for number, *_ in observations(con, "big.csv")} >= {1, 3}
    message = con.execute("SELECT error_message FROM rejections").fetchall()[0][0]
    assert "300" in message and "over the limit of 4096" in message and len(message) < 200
    longest = con.execute("SELECT max(length(raw)) FROM normalized_identifiers").fetchall()[0][0]
    assert longest < 100  # an over-long key never reaches the normaliser's cache
    report = write_error_report(con, tmp_path, "big.csv", tmp_path / "reports")
    assert report is not None and BIG in report.read_text()  # fixable from the report


def test_consent_columns_are_evidence_not_unknown_columns(tmp_path: Path) -> None:
    header = [
        "email",
        "phone",
        "email_subscription_status",
        "Consent_Source",
        "consent_text",
        "consent_text_version",
        "consent_collected_at",
        "consent_ip",
    ]
    rows = [
        [
            "a@example.com",
            "+16502530000",
            "subscribed",
            "web form",
            'I agree, "yes"',
            "v2",
            "2024-03-01T10:00:00Z",
            "192.0.2.1",
        ],
        ["b@example.com", "", "unsubscribed", " ", "", "", "", ""],
    ]
    path = write_upload(tmp_path, "consent.csv", csv_text(header, rows))
    con = open_warehouse(tmp_path)
    entry = ingest(con, tmp_path, "consent.csv")
    assert (entry.status, entry.applied, entry.rejected) == ("ingested", 2, 0)
    found = con.execute(
        "SELECT row_number, o.channel, e.evidence FROM observations o "
        "JOIN record_evidence e USING (source_file, row_number) ORDER BY row_number, o.channel"
    ).fetchall()
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    first = {
        "file": "consent.csv",
        "sha256": sha,
        "row": 1,
        "consent_source": "web form",
        "consent_text": 'I agree, "yes"',
        "consent_text_version": "v2",
        "consent_collected_at": "2024-03-01T10:00:00Z",
        "consent_ip": "192.0.2.1",
    }
    assert [(number, channel, json.loads(text)) for number, channel, text in found] == [
        (1, "email", first),
        (1, "sms", first),  # evidence applies to both parts of the row
        (2, "email", {"file": "consent.csv", "sha256": sha, "row": 2}),  # blanks left out
    ]


def test_evidence_without_consent_columns(tmp_path: Path) -> None:
    path = write_upload(
        tmp_path, "plain.csv", "email,email_subscription_status\na@example.com,true\n"
    )
    con = open_warehouse(tmp_path)
    ingest(con, tmp_path, "plain.csv")
    [(evidence,)] = con.execute("SELECT evidence FROM record_evidence").fetchall()
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert evidence == f'{{"file":"plain.csv","sha256":"{sha}","row":1}}'


def test_an_over_long_consent_value_rejects_its_row(tmp_path: Path) -> None:
    header = ["email", "email_subscription_status", "consent_text"]
    rows = [["a@example.com", "true", "y" * 5000], ["b@example.com", "true", "short"]]
    write_upload(tmp_path, "long.csv", csv_text(header, rows))
    con = open_warehouse(tmp_path)
    entry = ingest(con, tmp_path, "long.csv")
    assert (entry.applied, entry.rejected) == (1, 1)
    assert rejections(con, "long.csv") == [(1, "VALUE_TOO_LONG")]
    message = con.execute("SELECT error_message FROM rejections").fetchall()[0][0]
    assert message == "column 'consent_text': 5000 characters, over the limit of 4096"
