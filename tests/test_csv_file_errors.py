"""File-level defects reject the whole upload: ledger says why, nothing is observed."""

from __future__ import annotations

from pathlib import Path

import pytest

from subscription_pipeline.ingest.csv_upload import list_uploads
from subscription_pipeline.ingest.settings import IngestSettings
from tests.csv_files import ingest, observations, open_warehouse, rejections, write_upload

GOOD_ROWS = "a@example.com,subscribed\nb@example.com,unsubscribed\n"


@pytest.mark.parametrize(
    ("content", "code", "rows_in"),
    [
        (b"", "EMPTY_FILE", 0),
        (b"\n\n", "EMPTY_FILE", 0),
        (b"email,email_subscription_status\n", "EMPTY_FILE", 0),
        (b"email,status\xff\na@example.com,x\n", "INVALID_ENCODING", 0),
        (b'email,sms_subscription_status,phone\na@example.com,"true\n', "CSV_PARSE_ERROR", 0),
        (b"email,email_subscription_status\na@x.com\nb@x.com,true\n", "CSV_PARSE_ERROR", 2),
        (b"email,email_subscription_status\na@example.com,true,extra\n", "CSV_PARSE_ERROR", 1),
        (b"email, ,email_subscription_status\na@example.com,,true\n", "EMPTY_HEADER", 1),
        (b"email,Email \na@example.com,a@example.com\n", "DUPLICATE_HEADER", 1),
        (b"email,favourite_colour\na@example.com,blue\n", "UNKNOWN_COLUMN", 1),
        (b"email,_subscription_status\na@example.com,true\n", "UNKNOWN_COLUMN", 1),
        (b"user_id,email_subscription_status\nu1,true\n", "NO_CONTACT_COLUMN", 1),
        (b"phone,email_subscription_status\n+16502530000,true\n", "MISSING_CONTACT_COLUMN", 1),
        (b"phone,newsletter_subscription_status\n+16502530000,true\n", "MISSING_CONTACT_COLUMN", 1),
        (b"email,sms_subscription_status\na@example.com,true\n", "MISSING_CONTACT_COLUMN", 1),
        (b"email,whatsapp_subscription_status\na@example.com,true\n", "MISSING_CONTACT_COLUMN", 1),
    ],
)
def test_file_level_error_rejects_whole_upload(
    tmp_path: Path, content: bytes, code: str, rows_in: int
) -> None:
    write_upload(tmp_path, "bad.csv", content)
    con = open_warehouse(tmp_path)
    entry = ingest(con, tmp_path, "bad.csv")
    assert (entry.status, entry.error_code) == ("rejected", code)
    assert (entry.rows_in, entry.rejected, entry.applied) == (rows_in, rows_in, 0)
    assert entry.balanced
    assert observations(con, "bad.csv") == []
    assert rejections(con, "bad.csv") == [(None, code)]
    ledger = con.execute(
        "SELECT status, error_code, rows_in, rejected FROM input_ledger WHERE source_file = ?",
        ["uploads/bad.csv"],
    ).fetchall()
    assert ledger == [("rejected", code, rows_in, rows_in)]


def test_parse_error_names_the_physical_line(tmp_path: Path) -> None:
    # Row 1 spans lines 2-3 (quoted newline): the short row 2 is on line 4.
    content = 'email,email_subscription_status\n"a@example.com","sub\nscribed"\nb@example.com\n'
    write_upload(tmp_path, "ragged.csv", content)
    entry = ingest(open_warehouse(tmp_path), tmp_path, "ragged.csv")
    assert entry.error_code == "CSV_PARSE_ERROR"
    assert "line 4" in (entry.error_message or "")
    assert "data row 2" in (entry.error_message or "")


def test_too_many_rows_counts_every_row(tmp_path: Path) -> None:
    write_upload(tmp_path, "big.csv", "email,email_subscription_status\n" + GOOD_ROWS * 3)
    entry = ingest(open_warehouse(tmp_path), tmp_path, "big.csv", IngestSettings(max_rows=5))
    assert (entry.error_code, entry.rows_in, entry.rejected) == ("TOO_MANY_ROWS", 6, 6)
    within = ingest(open_warehouse(tmp_path), tmp_path, "big.csv", IngestSettings(max_rows=6))
    assert (within.status, within.applied) == ("ingested", 6)


def test_file_too_large(tmp_path: Path) -> None:
    path = write_upload(tmp_path, "large.csv", "email,email_subscription_status\n" + GOOD_ROWS)
    small = IngestSettings(max_bytes=path.stat().st_size - 1)
    con = open_warehouse(tmp_path)
    entry = ingest(con, tmp_path, "large.csv", small)
    assert (entry.status, entry.error_code) == ("rejected", "FILE_TOO_LARGE")
    assert observations(con, "large.csv") == []
    exact = IngestSettings(max_bytes=path.stat().st_size)
    assert ingest(con, tmp_path, "large.csv", exact).status == "ingested"


def test_symlink_is_rejected_and_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_text("email,email_subscription_status\nsecret@example.com,subscribed\n")
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / "link.CSV").symlink_to(outside)
    (tmp_path / "uploads" / "folder.csv").mkdir()
    write_upload(tmp_path, "notes.txt", "not an upload")
    assert list_uploads(tmp_path) == ["folder.csv", "link.CSV"]
    con = open_warehouse(tmp_path)
    for name in list_uploads(tmp_path):
        entry = ingest(con, tmp_path, name)
        assert (entry.status, entry.error_code) == ("rejected", "NOT_A_REGULAR_FILE")
        assert entry.content_sha256 is None  # its target was never read
    assert con.execute("SELECT count(*) FROM observations").fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM upload_times").fetchall() == [(0,)]


def test_list_uploads_without_folder(tmp_path: Path) -> None:
    assert list_uploads(tmp_path) == []


def test_fixed_file_replaces_its_rejection(tmp_path: Path) -> None:
    write_upload(tmp_path, "fix.csv", "email,colour\na@example.com,blue\n")
    con = open_warehouse(tmp_path)
    assert ingest(con, tmp_path, "fix.csv").error_code == "UNKNOWN_COLUMN"
    write_upload(tmp_path, "fix.csv", "email,email_subscription_status\n" + GOOD_ROWS)
    entry = ingest(con, tmp_path, "fix.csv")
    assert (entry.status, entry.applied, entry.error_code) == ("ingested", 2, None)
    assert rejections(con, "fix.csv") == []
