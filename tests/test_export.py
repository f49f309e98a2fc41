"""Exports: the full state as Parquet/CSV and Engage's SQL Traits shape, written atomically."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from subscription_pipeline.export import export_state
from subscription_pipeline.warehouse.connection import connect
from tests.output_tables import create_state, state_row

ROWS = [
    state_row("email", "ann@example.com", "subscribed", user_id="u-1"),
    state_row("email", "ann@example.com", "unsubscribed", group="newsletter", source="cascade"),
    state_row("email", "bob@example.com", "unsubscribed", source="api"),
    state_row("email", "cy@example.com", "did_not_subscribe", source="event"),
    state_row("email", "dee@example.com", None),  # known, never given a status
    state_row("sms", "+14155550101", "unsubscribed", source="keyword", locked=True),
    state_row("sms", "+14155550102", "did_not_subscribe", source="event"),
    state_row("whatsapp", "+14155550101", "subscribed", source="event"),
]


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path / "warehouse.duckdb")
    create_state(con, ROWS)
    yield con
    con.close()


def test_exports_state_in_both_formats(con, tmp_path: Path) -> None:
    result = export_state(con, tmp_path / "exports")

    parquet = pl.read_parquet(result.files["subscription_state.parquet"])
    csv = pl.read_csv(result.files["subscription_state.csv"], try_parse_dates=True)
    assert result.rows["subscription_state.parquet"] == len(ROWS) == parquet.height == csv.height
    assert parquet.columns[:4] == ["channel", "contact", "subscription_group", "status"]
    locked = parquet.filter(pl.col("locked"))
    assert locked.select("channel", "contact").rows() == [("sms", "+14155550101")]
    # The CSV keeps the timestamps readable and the NULL status empty.
    assert csv.filter(pl.col("contact") == "dee@example.com")["status"].to_list() == [None]
    assert csv.schema["status_at"] == pl.Datetime


def test_engage_files_have_the_sql_traits_shape(con, tmp_path: Path) -> None:
    result = export_state(con, tmp_path / "exports", formats=("csv",))

    email = pl.read_csv(result.files["engage_email_subscriptions.csv"])
    sms = pl.read_csv(result.files["engage_sms_subscriptions.csv"])
    assert email.columns == ["email", "__segment_internal_email_subscription__"]
    assert sms.columns == ["phone", "__segment_internal_sms_subscription__"]
    # Channel level only (no newsletter row), no NULL status, one row per contact.
    assert email.rows() == [
        ("ann@example.com", "subscribed"),
        ("bob@example.com", "unsubscribed"),
        ("cy@example.com", "did_not_subscribe"),
    ]
    # WhatsApp has no SQL Traits column: only the sms vector is exported.
    assert sms.rows() == [("+14155550101", "unsubscribed"), ("+14155550102", "did_not_subscribe")]
    assert result.rows == {
        "subscription_state.csv": len(ROWS),
        "engage_email_subscriptions.csv": 3,
        "engage_sms_subscriptions.csv": 2,
    }
    assert set(result.files) == set(result.rows)


def test_path_with_quotes_and_no_temp_files_left(con, tmp_path: Path) -> None:
    out_dir = tmp_path / 'it\'s an "export"'
    export_state(con, out_dir, formats=("parquet",))
    names = sorted(path.name for path in out_dir.iterdir())
    assert names == [
        "engage_email_subscriptions.parquet",
        "engage_sms_subscriptions.parquet",
        "subscription_state.parquet",
    ]


def test_failed_export_keeps_the_previous_file(con, tmp_path: Path) -> None:
    out_dir = tmp_path / "exports"
    first = export_state(con, out_dir, formats=("csv",))
    before = first.files["subscription_state.csv"].read_bytes()

    con.execute("ALTER TABLE subscription_state DROP COLUMN last_seen_at")
    with pytest.raises(duckdb.BinderException):
        export_state(con, out_dir, formats=("csv",))

    assert first.files["subscription_state.csv"].read_bytes() == before
    assert not [path for path in out_dir.iterdir() if path.name.endswith(".tmp")]


def test_rejects_unknown_format(con, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="xlsx"):
        export_state(con, tmp_path, formats=("xlsx",))


def test_large_state_csv_keeps_the_sorted_order_of_the_parquet(tmp_path: Path) -> None:
    """Big enough for DuckDB to scan in parallel: the CSV, copied from the Parquet file, must
    still list the rows sorted by channel, contact, group, as the Parquet file does."""
    con = connect(tmp_path / "warehouse.duckdb", threads=2)
    create_state(con, ROWS[:1])
    con.execute(
        """
        INSERT INTO subscription_state
            (channel, contact, subscription_group, status, locked, first_seen_at, last_seen_at)
        SELECT ['email', 'sms', 'whatsapp'][1 + i % 3], 'c' || hash(i) % 1000003,
               CASE WHEN i % 5 = 0 THEN 'g' || i % 7 END, 'subscribed', false,
               TIMESTAMP '2024-01-01', TIMESTAMP '2024-01-02'
        FROM range(400000) t(i)
        """
    )
    result = export_state(con, tmp_path / "exports")
    con.close()
    parquet = pl.read_parquet(result.files["subscription_state.parquet"])
    csv = pl.read_csv(result.files["subscription_state.csv"], infer_schema=False)
    keys = ["channel", "contact", "subscription_group"]
    expected = parquet.sort(keys, nulls_last=False, maintain_order=True)
    assert parquet.select(keys).equals(expected.select(keys))
    assert csv.select(keys).equals(parquet.select(keys))


def test_state_formats_apart_from_the_engage_files(con, tmp_path: Path) -> None:
    result = export_state(con, tmp_path / "exports", state_formats=("parquet",))
    assert sorted(result.files) == [
        "engage_email_subscriptions.csv",
        "engage_email_subscriptions.parquet",
        "engage_sms_subscriptions.csv",
        "engage_sms_subscriptions.parquet",
        "subscription_state.parquet",
    ]
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == sorted(result.files)
    with pytest.raises(ValueError, match="unsupported"):
        export_state(con, tmp_path / "exports", state_formats=("xlsx",))


def test_unsorted_state_export_holds_the_same_rows(con, tmp_path: Path) -> None:
    sorted_result = export_state(con, tmp_path / "sorted", state_formats=("parquet",))
    unsorted_result = export_state(
        con, tmp_path / "unsorted", state_formats=("parquet",), sort_state=False
    )
    name = "subscription_state.parquet"
    sorted_rows = pl.read_parquet(sorted_result.files[name])
    unsorted_rows = pl.read_parquet(unsorted_result.files[name])
    assert unsorted_result.rows == sorted_result.rows
    keys = ["channel", "contact", "subscription_group"]
    assert unsorted_rows.sort(keys, nulls_last=False).equals(sorted_rows)
    assert sorted_rows.height > 0
