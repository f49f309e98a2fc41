"""The per-upload error report: Engage format, blocked outcomes included, re-uploadable."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from subscription_pipeline.error_reports.error_report import (
    REPORT_COLUMNS,
    refresh_error_reports,
    write_error_report,
)
from tests.csv_files import csv_text, ingest, open_warehouse, rejections, write_upload

HEADER = ["Email", "phone", "email_subscription_status", "sms_subscription_status", "user_id"]
ROWS = [
    ["good@example.com", "+16502530000", "subscribed", "true", "u1"],
    ["bad@", "+16502530001", "unsubscribed", "false", "u2"],
    ["", "", "", "", "u3, with comma"],
    ["c@example.com", "not a phone", "maybe", "", 'say "hi"\nbye'],
]


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_report_lists_each_error_with_the_original_row(tmp_path: Path) -> None:
    write_upload(tmp_path, "up.csv", csv_text(HEADER, ROWS))
    con = open_warehouse(tmp_path)
    ingest(con, tmp_path, "up.csv")
    path = write_error_report(con, tmp_path, "up.csv", tmp_path / "reports")
    assert path == tmp_path / "reports" / "up.csv.errors.csv"
    lines = _read(path)
    assert list(lines[0]) == HEADER + list(REPORT_COLUMNS)
    assert [(line["row_number"], line["error_code"]) for line in lines] == [
        ("2", "INVALID_EMAIL"),
        ("3", "MISSING_IDENTIFIER"),
        ("4", "INVALID_PHONE"),
        ("4", "INVALID_SUBSCRIPTION_STATUS"),
    ]
    assert lines[3]["user_id"] == 'say "hi"\nbye'  # quoted newline and quotes survive
    assert lines[1]["user_id"] == "u3, with comma"
    assert "maybe" in lines[3]["error_message"]


def test_report_round_trip_after_fixing(tmp_path: Path) -> None:
    write_upload(tmp_path, "up.csv", csv_text(HEADER, ROWS))
    con = open_warehouse(tmp_path)
    ingest(con, tmp_path, "up.csv")
    lines = _read(write_error_report(con, tmp_path, "up.csv", tmp_path / "reports"))
    fixes = {
        "bad@": "bad@example.com",
        "not a phone": "+16502530009",
        "maybe": "did-not-subscribe",
    }
    fixed = [
        [fixes.get(line[name], line[name]) for name in HEADER]
        for line in lines
        if line["error_code"] != "MISSING_IDENTIFIER"
    ]
    write_upload(tmp_path, "up-fixed.csv", csv_text(HEADER, fixed))
    entry = ingest(con, tmp_path, "up-fixed.csv")
    assert (entry.status, entry.rows_in, entry.rejected) == ("ingested", 3, 0)
    assert rejections(con, "up-fixed.csv") == []
    assert write_error_report(con, tmp_path, "up-fixed.csv", tmp_path / "reports") is None


def test_report_includes_blocked_outcomes(tmp_path: Path) -> None:
    write_upload(tmp_path, "up.csv", csv_text(HEADER, ROWS[:1]))
    con = open_warehouse(tmp_path)
    ingest(con, tmp_path, "up.csv")
    assert write_error_report(con, tmp_path, "up.csv", tmp_path / "reports") is None
    # Rows as the resolution writes them (contract columns this report reads).
    con.execute(
        """
        INSERT INTO history_steps (channel, contact, replay_step, effective_at,
            source_kind, source, source_file, row_number, observed_status, outcome, reason,
            locked_after)
        VALUES ('sms', '+16502530000', 2, TIMESTAMP '2024-01-01', 'csv', 'up.csv',
                'uploads/up.csv', 1, 'subscribed', 'blocked', 'UNABLE_TO_SUBSCRIBE', true),
               ('sms', '+16502530000', 3, TIMESTAMP '2024-01-01', 'csv', 'other.csv',
                'uploads/other.csv', 1, 'subscribed', 'blocked', 'UNABLE_TO_SUBSCRIBE', true),
               ('email', 'good@example.com', 1, TIMESTAMP '2024-01-01', 'csv', 'up.csv',
                'uploads/up.csv', 1, 'subscribed', 'applied', NULL, false)
        """
    )
    lines = _read(write_error_report(con, tmp_path, "up.csv", tmp_path / "reports"))
    assert [(line["row_number"], line["error_code"]) for line in lines] == [
        ("1", "UNABLE_TO_SUBSCRIBE")
    ]
    assert lines[0]["Email"] == "good@example.com"
    assert "+16502530000" in lines[0]["error_message"]


def test_report_without_a_history_table(tmp_path: Path) -> None:
    write_upload(tmp_path, "up.csv", csv_text(HEADER, ROWS))
    con = open_warehouse(tmp_path)
    ingest(con, tmp_path, "up.csv")
    con.execute("DROP TABLE IF EXISTS history_steps")
    lines = _read(write_error_report(con, tmp_path, "up.csv", tmp_path / "reports"))
    assert len(lines) == 4


def test_stale_report_is_removed(tmp_path: Path) -> None:
    write_upload(tmp_path, "up.csv", csv_text(HEADER, ROWS))
    con = open_warehouse(tmp_path)
    ingest(con, tmp_path, "up.csv")
    path = write_error_report(con, tmp_path, "up.csv", tmp_path / "reports")
    assert path is not None and path.exists()
    write_upload(tmp_path, "up.csv", csv_text(HEADER, ROWS[:1]))
    ingest(con, tmp_path, "up.csv")
    assert write_error_report(con, tmp_path, "up.csv", tmp_path / "reports") is None
    assert not path.exists()


def test_file_level_rejection_report(tmp_path: Path) -> None:
    write_upload(tmp_path, "broken.csv", b"email,status\xff\n")
    con = open_warehouse(tmp_path)
    ingest(con, tmp_path, "broken.csv")
    lines = _read(write_error_report(con, tmp_path, "broken.csv", tmp_path / "reports"))
    assert [(line["row_number"], line["error_code"]) for line in lines] == [
        ("", "INVALID_ENCODING")
    ]


def test_report_refuses_an_upload_changed_since_ingestion(tmp_path: Path) -> None:
    write_upload(tmp_path, "up.csv", csv_text(HEADER, ROWS))
    con = open_warehouse(tmp_path)
    ingest(con, tmp_path, "up.csv")
    write_upload(tmp_path, "up.csv", csv_text(HEADER, list(reversed(ROWS))))
    with pytest.raises(RuntimeError, match="ingest it again"):
        write_error_report(con, tmp_path, "up.csv", tmp_path / "reports")


def test_refresh_rewrites_a_report_only_when_its_errors_or_upload_change(tmp_path: Path) -> None:
    write_upload(tmp_path, "up.csv", csv_text(HEADER, ROWS))
    write_upload(tmp_path, "clean.csv", csv_text(HEADER, ROWS[:1]))
    con = open_warehouse(tmp_path)
    ingest(con, tmp_path, "up.csv")
    ingest(con, tmp_path, "clean.csv")
    reports = tmp_path / "reports"
    uploads = ["clean.csv", "up.csv"]
    path = reports / "up.csv.errors.csv"
    assert refresh_error_reports(con, tmp_path, uploads, reports) == ([path], 2)
    assert refresh_error_reports(con, tmp_path, uploads, reports) == ([path], 0)

    path.unlink()  # a report removed by hand is written again
    assert refresh_error_reports(con, tmp_path, uploads, reports) == ([path], 1)

    # A blocked outcome of one of its rows appears: the report is rewritten with it.
    con.execute(
        "INSERT INTO history_steps (channel, contact, subscription_group, replay_step, "
        "effective_at, source_kind, source, row_number, observed_status, outcome, reason, "
        "locked_after) VALUES ('sms', '+16502530000', NULL, 2, TIMESTAMP '2024-03-15', 'csv', "
        "'up.csv', 1, 'subscribed', 'blocked', 'UNABLE_TO_SUBSCRIBE', true)"
    )
    assert refresh_error_reports(con, tmp_path, uploads, reports) == ([path], 1)
    assert "UNABLE_TO_SUBSCRIBE" in [line["error_code"] for line in _read(path)]

    # The upload fixed in place and re-ingested: the stale report goes away.
    con.execute("DELETE FROM history_steps")
    write_upload(tmp_path, "up.csv", csv_text(HEADER, ROWS[:1]))
    ingest(con, tmp_path, "up.csv")
    assert refresh_error_reports(con, tmp_path, uploads, reports) == ([], 1)
    assert not path.exists()
    assert refresh_error_reports(con, tmp_path, uploads, reports) == ([], 0)


def test_uploads_differing_in_case_get_a_report_each(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path)
    for name, rows in (("x.csv", ROWS[1:2]), ("x.CSV", ROWS[2:3])):
        write_upload(tmp_path, name, csv_text(HEADER, rows))
        ingest(con, tmp_path, name)
    reports, written = refresh_error_reports(con, tmp_path, ["x.CSV", "x.csv"], tmp_path / "r")
    assert written == 2
    assert sorted(path.name for path in reports) == ["x.CSV.errors.csv", "x.csv.errors.csv"]
    codes = {path.name: [line["error_code"] for line in _read(path)] for path in reports}
    assert codes == {
        "x.csv.errors.csv": ["INVALID_EMAIL"],
        "x.CSV.errors.csv": ["MISSING_IDENTIFIER"],
    }
