"""Uploads that once crashed the row judging (found by the accounting property)."""

from __future__ import annotations

from pathlib import Path

from tests.csv_files import csv_text, ingest, open_warehouse, rejections, write_upload


def test_only_phone_parts_failing_after_email_parts_pass(tmp_path: Path) -> None:
    # The failing keys all come from the second (phone) chunk of the key frame; polars 2.1
    # panicked formatting their messages unless the filtered frame is one chunk.
    header = ["sms_subscription_status", "phone", "whatsapp_subscription_status", "email"]
    rows = [
        ["", "", "Subscribed", " B@Example.com "],
        ["subscribed", "", "no", "a@example.com"],
        ["", "+16502530000", "no", "a@example.com"],
    ]
    write_upload(tmp_path, "u.csv", csv_text(header, rows))
    con = open_warehouse(tmp_path)
    entry = ingest(con, tmp_path, "u.csv")
    assert (entry.rows_in, entry.applied, entry.rejected) == (3, 3, 0)
    found = rejections(con, "u.csv")
    assert found == [(1, "INVALID_PHONE"), (2, "INVALID_PHONE"), (3, "INVALID_SUBSCRIPTION_STATUS")]
