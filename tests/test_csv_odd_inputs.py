"""Odd uploads that once rejected a whole file (issue 14): now only their own rows, or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.csv_files import ingest, observations, open_warehouse, rejections, write_upload


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
