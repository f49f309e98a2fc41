"""uploaded_at: the file-name prefix, else the first-seen mtime, kept across re-ingests."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from subscription_pipeline.ingest.upload_time import uploaded_at_from_name
from tests.csv_files import csv_text, ingest, open_warehouse, write_upload

ROWS = csv_text(["email", "email_subscription_status"], [["a@example.com", "subscribed"]])
FIRST_SEEN = datetime(2023, 5, 1, 12, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("20240315T093000Z_trade-show.csv", datetime(2024, 3, 15, 9, 30)),
        ("20240229T235959Z_leap.csv", datetime(2024, 2, 29, 23, 59, 59)),
        ("20230229T000000Z_not-leap.csv", None),
        ("20241315T093000Z_month13.csv", None),
        ("20240315T093000Z.csv", None),
        ("20240315T093000_no-zone.csv", None),
        ("trade-show.csv", None),
    ],
)
def test_prefix(name: str, expected: datetime | None) -> None:
    assert uploaded_at_from_name(name) == expected


def test_prefix_is_the_effective_time(tmp_path: Path) -> None:
    name = "20240315T093000Z_trade-show.csv"
    write_upload(tmp_path, name, ROWS, mtime=FIRST_SEEN)
    con = open_warehouse(tmp_path)
    entry = ingest(con, tmp_path, name)
    assert entry.uploaded_at == datetime(2024, 3, 15, 9, 30)
    assert con.execute("SELECT DISTINCT effective_at FROM observations").fetchall() == [
        (datetime(2024, 3, 15, 9, 30),)
    ]
    assert con.execute("SELECT origin FROM upload_times").fetchall() == [("file_name",)]


def test_mtime_is_registered_once_and_kept_after_touch(tmp_path: Path) -> None:
    path = write_upload(tmp_path, "20241315T093000Z_bad-prefix.csv", ROWS, mtime=FIRST_SEEN)
    con = open_warehouse(tmp_path)
    first = ingest(con, tmp_path, path.name)
    assert first.uploaded_at == FIRST_SEEN.replace(tzinfo=None)
    os.utime(path)  # touch: a new mtime
    second = ingest(con, tmp_path, path.name)
    assert second.uploaded_at == first.uploaded_at
    ledger = con.execute("SELECT uploaded_at FROM input_ledger").fetchall()
    effective = con.execute("SELECT DISTINCT effective_at FROM observations").fetchall()
    assert ledger == effective == [(FIRST_SEEN.replace(tzinfo=None),)]
    assert con.execute("SELECT origin FROM upload_times").fetchall() == [("mtime",)]


def test_rejected_upload_keeps_its_first_time_after_a_fix(tmp_path: Path) -> None:
    write_upload(tmp_path, "late.csv", "email,colour\na@example.com,red\n", mtime=FIRST_SEEN)
    con = open_warehouse(tmp_path)
    assert ingest(con, tmp_path, "late.csv").error_code == "UNKNOWN_COLUMN"
    write_upload(tmp_path, "late.csv", ROWS)  # fixed in place: mtime is now
    entry = ingest(con, tmp_path, "late.csv")
    assert (entry.status, entry.uploaded_at) == ("ingested", FIRST_SEEN.replace(tzinfo=None))
