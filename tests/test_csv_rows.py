"""Row-level judging per contact vector, observations, accounting and idempotence."""

from __future__ import annotations

import json
from pathlib import Path

from tests.csv_files import (
    csv_text,
    ingest,
    observations,
    open_warehouse,
    rejections,
    write_upload,
)

HEADER = ["email", "phone", "email_subscription_status", "sms_subscription_status", "user_id"]


def test_bad_phone_never_discards_the_email_opt_out(tmp_path: Path) -> None:
    write_upload(
        tmp_path,
        "u.csv",
        csv_text(HEADER, [["Jo@Example.COM ", "555", "unsubscribed", "true", "u7"]]),
    )
    con = open_warehouse(tmp_path)
    entry = ingest(con, tmp_path, "u.csv")
    assert (entry.rows_in, entry.applied, entry.rejected) == (1, 1, 0)
    assert observations(con, "u.csv") == [(1, "email", "jo@example.com", None, "unsubscribed")]
    found = con.execute(
        "SELECT row_number, error_code, error_message, raw_record FROM rejections"
    ).fetchall()
    assert [(row, code) for row, code, _, _ in found] == [(1, "INVALID_PHONE")]
    assert "'phone'" in found[0][2] and "'555'" in found[0][2]
    assert json.loads(found[0][3]) == dict(
        zip(HEADER, ["Jo@Example.COM ", "555", "unsubscribed", "true", "u7"], strict=True)
    )
    user = con.execute("SELECT DISTINCT user_id, source, source_file FROM observations").fetchall()
    assert user == [("u7", "u.csv", "uploads/u.csv")]


def test_row_level_codes(tmp_path: Path) -> None:
    rows = [
        ["not-an-email", "+16502530000", "subscribed", "false", ""],  # email bad, phone ok
        ["a@example.com", "", "maybe", "", ""],  # bad status: the only part is rejected
        ["", "", "subscribed", "true", "u1"],  # no identifier at all
        ["", "+16502530001", "", "STOP", ""],  # bad sms status
        ["b@example.com", "+16502530002", "true", "", ""],  # fine
    ]
    write_upload(tmp_path, "codes.csv", csv_text(HEADER, rows))
    con = open_warehouse(tmp_path)
    entry = ingest(con, tmp_path, "codes.csv")
    assert rejections(con, "codes.csv") == [
        (1, "INVALID_EMAIL"),
        (2, "INVALID_SUBSCRIPTION_STATUS"),
        (3, "MISSING_IDENTIFIER"),
        (4, "INVALID_SUBSCRIPTION_STATUS"),
    ]
    assert observations(con, "codes.csv") == [
        (1, "sms", "+16502530000", None, "unsubscribed"),
        (5, "email", "b@example.com", None, "subscribed"),
        (5, "sms", "+16502530002", None, None),
    ]
    assert (entry.rows_in, entry.applied, entry.rejected, entry.ignored, entry.duplicate) == (
        5,
        2,
        3,
        0,
        0,
    )
    assert entry.balanced


def test_one_bad_group_value_rejects_the_email_part(tmp_path: Path) -> None:
    header = [
        "email",
        "email_subscription_status",
        "news_subscription_status",
        "promo_subscription_status",
    ]
    rows = [["a@example.com", "subscribed", "subscribed", "sometimes"]]
    write_upload(tmp_path, "g.csv", csv_text(header, rows))
    con = open_warehouse(tmp_path)
    entry = ingest(con, tmp_path, "g.csv")
    assert (entry.applied, entry.rejected) == (0, 1)
    assert observations(con, "g.csv") == []
    message = con.execute("SELECT error_message FROM rejections").fetchall()[0][0]
    assert "promo_subscription_status" in message and "sometimes" in message


def test_status_without_its_key_is_rejected_not_dropped(tmp_path: Path) -> None:
    rows = [["", "+16502530000", "unsubscribed", "", ""]]
    write_upload(tmp_path, "k.csv", csv_text(HEADER, rows))
    con = open_warehouse(tmp_path)
    entry = ingest(con, tmp_path, "k.csv")
    assert rejections(con, "k.csv") == [(1, "INVALID_EMAIL")]
    assert observations(con, "k.csv") == [(1, "sms", "+16502530000", None, None)]
    assert (entry.applied, entry.rejected) == (1, 0)


def test_spellings_case_and_whitespace(tmp_path: Path) -> None:
    header = ["email", "email_subscription_status"]
    spellings = [
        "TRUE",
        " false ",
        "Did-Not-Subscribe",
        "did_not_subscribe",
        "Subscribed",
        "UNSUBSCRIBED",
    ]
    rows = [[f"p{i}@example.com", value] for i, value in enumerate(spellings)]
    write_upload(tmp_path, "s.csv", csv_text(header, rows))
    con = open_warehouse(tmp_path)
    ingest(con, tmp_path, "s.csv")
    assert [status for *_, status in observations(con, "s.csv")] == [
        "subscribed",
        "unsubscribed",
        "did_not_subscribe",
        "did_not_subscribe",
        "subscribed",
        "unsubscribed",
    ]


def test_bom_crlf_and_quoted_newline(tmp_path: Path) -> None:
    header = ["Email", "email_subscription_status", "anonymous_id"]
    rows = [
        ["a@example.com", "subscribed", "line one\r\nline two, with comma"],
        ["b@example.com", "", ""],
    ]
    write_upload(tmp_path, "w.csv", csv_text(header, rows, newline="\r\n"), bom=True)
    con = open_warehouse(tmp_path)
    entry = ingest(con, tmp_path, "w.csv")
    assert (entry.status, entry.rows_in, entry.applied) == ("ingested", 2, 2)
    assert con.execute(
        "SELECT row_number, contact, status, anonymous_id FROM observations ORDER BY row_number"
    ).fetchall() == [
        (1, "a@example.com", "subscribed", "line one\r\nline two, with comma"),
        (2, "b@example.com", None, None),
    ]


def test_blank_statuses_register_each_channel_column(tmp_path: Path) -> None:
    header = [
        "email",
        "phone",
        "email_subscription_status",
        "sms_subscription_status",
        "whatsapp_subscription_status",
        "newsletter_subscription_status",
    ]
    rows = [
        ["a@example.com", "+16502530000", "", "", "", ""],
        ["b@example.com", "", "", "", "", "Subscribed"],
    ]
    write_upload(tmp_path, "b.csv", csv_text(header, rows))
    con = open_warehouse(tmp_path)
    ingest(con, tmp_path, "b.csv")
    assert observations(con, "b.csv") == [
        (1, "email", "a@example.com", None, None),
        (1, "sms", "+16502530000", None, None),
        (1, "whatsapp", "+16502530000", None, None),
        (2, "email", "b@example.com", None, None),
        (2, "email", "b@example.com", "newsletter", "subscribed"),
    ]


def test_keys_without_status_columns_register_email_and_sms(tmp_path: Path) -> None:
    header = ["phone", "email", "Newsletter_Subscription_Status"]
    rows = [["(650) 253-0000", "a@example.com", ""], ["", "b@example.com", "false"]]
    write_upload(tmp_path, "r.csv", csv_text(header, rows))
    con = open_warehouse(tmp_path)
    ingest(con, tmp_path, "r.csv")
    assert observations(con, "r.csv") == [
        (1, "email", "a@example.com", None, None),
        (1, "sms", "+16502530000", None, None),
        (2, "email", "b@example.com", None, None),
        (2, "email", "b@example.com", "newsletter", "unsubscribed"),
    ]


def test_reingest_replaces_instead_of_doubling(tmp_path: Path) -> None:
    rows = [["a@example.com", "bad", "unsubscribed", "true", ""], ["", "", "", "", ""]]
    write_upload(tmp_path, "twice.csv", csv_text(HEADER, rows))
    con = open_warehouse(tmp_path)
    first = ingest(con, tmp_path, "twice.csv")
    before = (observations(con, "twice.csv"), rejections(con, "twice.csv"))
    second = ingest(con, tmp_path, "twice.csv")
    assert first == second
    assert (observations(con, "twice.csv"), rejections(con, "twice.csv")) == before
    counts = con.execute(
        "SELECT (SELECT count(*) FROM observations), (SELECT count(*) FROM rejections),"
        " (SELECT count(*) FROM input_ledger)"
    ).fetchall()
    assert counts == [(1, 2, 1)]


def test_changed_vectors_are_queued_for_resolution(tmp_path: Path) -> None:
    header = ["email", "email_subscription_status"]
    write_upload(tmp_path, "d.csv", csv_text(header, [["a@example.com", "subscribed"]]))
    con = open_warehouse(tmp_path)
    ingest(con, tmp_path, "d.csv")
    write_upload(tmp_path, "d.csv", csv_text(header, [["b@example.com", "subscribed"]]))
    ingest(con, tmp_path, "d.csv")
    dirty = con.execute("SELECT DISTINCT channel, contact FROM dirty_vectors ORDER BY 2").fetchall()
    # a@ lost its observation, b@ gained one: both must be resolved again.
    assert dirty == [("email", "a@example.com"), ("email", "b@example.com")]


def test_normalisation_goes_through_the_cache(tmp_path: Path) -> None:
    rows = [
        ["A@example.com", "6502530000", "", "", ""],
        ["A@example.com", "6502530000", "", "", ""],
    ]
    write_upload(tmp_path, "c.csv", csv_text(HEADER, rows))
    con = open_warehouse(tmp_path)
    ingest(con, tmp_path, "c.csv")
    cached = con.execute(
        "SELECT kind, region, raw, normalized FROM normalized_identifiers ORDER BY kind"
    ).fetchall()
    assert cached == [
        ("email", "", "A@example.com", "a@example.com"),
        ("phone", "US", "6502530000", "+16502530000"),
    ]
