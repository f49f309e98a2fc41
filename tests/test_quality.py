"""Quality checks: pandera models on a sample, key uniqueness, vocabulary and accounting in SQL."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import polars as pl
import pytest

from subscription_pipeline.ingest.store import LedgerEntry, write_ledger_entry
from subscription_pipeline.quality import (
    check_accounting,
    check_state_key_unique,
    check_vocabulary,
    quality_markdown,
    run_quality_checks,
    validate_table,
)
from subscription_pipeline.quality.validate import SAMPLE_ROWS
from subscription_pipeline.warehouse.connection import connect
from tests.output_tables import T0, T1, clear_history, create_state, state_row

UPLOAD = "uploads/20240315T093000Z_trade-show.csv"
LOG = "segment-logs/src1/1710547200000/part-0001.gz"

STATE = [
    state_row("email", "ann@example.com", "unsubscribed", source="api", at=T1),
    state_row("email", "ann@example.com", "unsubscribed", group="newsletter", source="cascade"),
    state_row("email", "bob@example.com", "subscribed"),
    state_row("email", "dee@example.com", None),
    state_row("sms", "+14155550102", "unsubscribed", source="keyword", locked=True, at=T1),
]

# channel, contact, group, step, effective_at, source_kind, source, source_ref, source_file,
# row_number, message_id, user_id, observed_status, outcome, reason, status_after, locked_after
HISTORY = [
    ("email", "ann@example.com", None, 1, T0, "csv", UPLOAD, f"{UPLOAD}:2", UPLOAD, 2, None,
     None, "subscribed", "applied", None, "subscribed", False),
    ("email", "ann@example.com", "newsletter", 2, T0, "csv", UPLOAD, f"{UPLOAD}:2", UPLOAD, 2,
     None, None, "subscribed", "applied", None, "subscribed", False),
    ("email", "ann@example.com", None, 3, T1, "api", "req-42", "req-42", None, None, None,
     "u-1", "unsubscribed", "applied", None, "unsubscribed", False),
    ("email", "ann@example.com", "newsletter", 4, T1, "cascade", "req-42", "req-42", None,
     None, None, "u-1", "unsubscribed", "applied", None, "unsubscribed", False),
    ("sms", "+14155550102", None, 1, T0, "keyword", "msg-7", f"{LOG}#msg-7", LOG, 4, "msg-7",
     None, "unsubscribed", "applied", None, "unsubscribed", True),
    ("sms", "+14155550102", None, 2, T1, "csv", UPLOAD, f"{UPLOAD}:3", UPLOAD, 3, None, None,
     "subscribed", "blocked", "UNABLE_TO_SUBSCRIBE", "unsubscribed", True),
]  # fmt: skip

GOOD_UPLOAD = LedgerEntry(
    source_file=UPLOAD,
    source_kind="csv",
    partition_key="20240315T093000Z_trade-show.csv",
    status="ingested",
    rows_in=5,
    applied=3,
    ignored=0,
    duplicate=0,
    rejected=2,
    uploaded_at=T0,
)
GOOD_LOG = LedgerEntry(
    source_file=LOG,
    source_kind="event_log",
    partition_key="2024-03-16",
    status="ingested",
    rows_in=10,
    applied=4,
    ignored=3,
    duplicate=2,
    rejected=1,
)


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path / "warehouse.duckdb")
    create_state(con, STATE)
    clear_history(con)
    con.executemany(f"INSERT INTO history_steps VALUES ({', '.join('?' * 17)})", HISTORY)
    write_ledger_entry(con, GOOD_UPLOAD)
    write_ledger_entry(con, GOOD_LOG)
    con.executemany(
        "INSERT INTO rejections VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            ("csv", GOOD_UPLOAD.partition_key, UPLOAD, 4, "INVALID_EMAIL", "no @", "ann.x,true"),
            ("csv", GOOD_UPLOAD.partition_key, UPLOAD, 5, "MISSING_IDENTIFIER", "empty", ",,"),
            ("event_log", "2024-03-16", LOG, 9, "INVALID_JSON", "bad line", "{"),
        ],
    )
    yield con
    con.close()


def test_good_warehouse_passes_every_check(con) -> None:
    results = run_quality_checks(con)
    assert [r.name for r in results if not r.passed] == []
    assert len(results) == 7
    assert all(r.failures.is_empty() for r in results)
    text = quality_markdown(results)
    assert text.startswith("# Data quality: 7/7 checks passed")
    assert "✅ **schema of subscription_state**: all 5 rows validated" in text


def test_state_model_catches_row_rules(con) -> None:
    con.execute(
        "INSERT INTO subscription_state VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            *state_row("email", "eve@example.com", "unsubscribed", locked=True),
            # Stale columns would hide a broken engine: a status without its source.
        ],
    )
    con.execute(
        "UPDATE subscription_state SET source = NULL, status = 'opted_in' "
        "WHERE contact = 'bob@example.com'"
    )
    result = validate_table(con, "subscription_state")
    assert not result.passed
    failed = set(result.failures.select("column", "check").rows())
    assert ("status", "isin(('subscribed', 'unsubscribed', 'did_not_subscribe'))") in failed
    assert ("subscription_state", "locked_means_stopped_phone") in failed
    assert ("subscription_state", "status_has_time_and_source") in failed
    assert result.failures["table"].unique().to_list() == ["subscription_state"]
    assert "❌ **schema of subscription_state**" in result.summary


def test_history_model_catches_inconsistent_steps(con) -> None:
    con.execute(
        "UPDATE history_steps SET reason = NULL WHERE outcome = 'blocked'; "
        "UPDATE history_steps SET status_after = 'subscribed' WHERE replay_step = 3"
    )
    result = validate_table(con, "subscription_history")
    checks = set(result.failures["check"].to_list())
    assert checks == {"reason_iff_not_applied", "applied_sets_the_observed_status"}


def test_wrong_column_type_and_missing_column(con) -> None:
    con.execute("ALTER TABLE subscription_state ALTER locked TYPE VARCHAR")
    con.execute("ALTER TABLE subscription_state DROP COLUMN user_id")
    failures = validate_table(con, "subscription_state").failures
    assert ("locked", "dtype('Boolean')") in set(failures.select("column", "check").rows())
    assert (
        "user_id"
        in failures.filter(pl.col("check") == "column_in_dataframe")["failure_case"].to_list()
    )


def test_missing_table_fails_clearly(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "bare.duckdb"))  # no schema applied
    try:
        result = validate_table(con, "subscription_state")
        unique = check_state_key_unique(con)
    finally:
        con.close()
    assert not result.passed and "missing" in result.summary
    assert not unique.passed and unique.failures["problem"].to_list() == ["table is missing"]


def test_key_uniqueness_treats_null_group_as_a_value(con) -> None:
    assert check_state_key_unique(con).passed
    con.execute(
        "INSERT INTO subscription_state SELECT * FROM subscription_state "
        "WHERE contact = 'ann@example.com' AND subscription_group IS NULL"
    )
    result = check_state_key_unique(con)
    assert not result.passed
    assert result.failures.rows() == [("email", "ann@example.com", None, 2)]
    assert "1 keys appear more than once" in result.summary


def test_vocabulary_over_every_table(con) -> None:
    con.execute("UPDATE subscription_state SET status = 'SUBSCRIBED' WHERE contact LIKE 'bob%'")
    con.execute("UPDATE history_steps SET reason = 'BECAUSE' WHERE outcome = 'blocked'")
    con.execute("UPDATE history_steps SET outcome = 'maybe' WHERE replay_step = 1")
    con.execute("UPDATE rejections SET error_code = 'OOPS' WHERE row_number = 9")
    result = check_vocabulary(con)
    assert not result.passed
    assert sorted(result.failures.rows()) == [
        ("history_steps", "outcome", "maybe", 2),
        ("history_steps", "reason", "BECAUSE", 1),
        ("rejections", "error_code", "OOPS", 1),
        ("subscription_state", "status", "SUBSCRIBED", 1),
    ]


def test_accounting_identity_per_ledger_row(con) -> None:
    write_ledger_entry(con, replace(GOOD_LOG, source_file=f"{LOG}.bis", duplicate=0))
    result = check_accounting(con)
    assert not result.passed
    assert result.failures.select("source_file", "unaccounted").rows() == [(f"{LOG}.bis", 2)]
    assert "1 of 3 files do not balance" in result.summary
    # The ledger model says the same on its sample.
    ledger = validate_table(con, "input_ledger")
    assert "rows_accounted_for" in ledger.failures["check"].to_list()


def test_large_table_is_validated_on_a_bounded_sample(con) -> None:
    con.execute(
        """
        INSERT INTO subscription_state
        SELECT 'email', 'user' || i || '@example.com', NULL, 'subscribed', ?, 'csv',
               'uploads/big.csv:' || i, false, NULL, ?, ?
        FROM range(25000) t(i)
        """,
        [T0, T0, T0],
    )
    result = validate_table(con, "subscription_state")
    assert result.passed
    assert result.rows_checked == SAMPLE_ROWS
    assert f"{SAMPLE_ROWS} of 25005 rows" in result.summary
