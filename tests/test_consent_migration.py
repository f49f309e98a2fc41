"""A warehouse made before evidence and erasure gains their columns and tables on open."""

from __future__ import annotations

from pathlib import Path

import duckdb

from subscription_pipeline.summary import summarize
from subscription_pipeline.warehouse.connection import connect

# The three tables as they were, abridged to what the migration touches.
_OLD = """
CREATE TABLE observations (
    source_kind VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, source_file VARCHAR NOT NULL,
    row_number BIGINT, message_id VARCHAR, source VARCHAR NOT NULL, channel VARCHAR NOT NULL,
    contact VARCHAR NOT NULL, subscription_group VARCHAR, status VARCHAR,
    effective_at TIMESTAMP NOT NULL, received_at TIMESTAMP, user_id VARCHAR, anonymous_id VARCHAR
);
CREATE TABLE subscription_history (
    channel VARCHAR NOT NULL, contact VARCHAR NOT NULL, subscription_group VARCHAR,
    replay_step BIGINT NOT NULL, effective_at TIMESTAMP NOT NULL, source_kind VARCHAR NOT NULL,
    source VARCHAR, source_ref VARCHAR, source_file VARCHAR, row_number BIGINT,
    message_id VARCHAR, user_id VARCHAR, observed_status VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL, reason VARCHAR, status_after VARCHAR, locked_after BOOLEAN NOT NULL
);
CREATE TABLE input_ledger (
    source_file VARCHAR PRIMARY KEY, source_kind VARCHAR NOT NULL,
    partition_key VARCHAR NOT NULL, status VARCHAR NOT NULL, uploaded_at TIMESTAMP,
    content_sha256 VARCHAR, size_bytes BIGINT, rows_in BIGINT NOT NULL, applied BIGINT NOT NULL,
    ignored BIGINT NOT NULL, duplicate BIGINT NOT NULL, rejected BIGINT NOT NULL,
    warnings BIGINT NOT NULL DEFAULT 0, error_code VARCHAR, error_message VARCHAR,
    ingested_at TIMESTAMP NOT NULL
);
INSERT INTO input_ledger VALUES
    ('uploads/a.csv', 'csv', 'a.csv', 'ingested', NULL, NULL, NULL, 2, 2, 0, 0, 0, 0, NULL,
     NULL, TIMESTAMP '2024-01-01');
"""


def test_an_old_warehouse_gains_the_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    old = duckdb.connect(str(path))
    old.execute(_OLD)
    old.close()
    con = connect(path)
    try:
        columns = {
            (table, column)
            for table, column in con.execute(
                "SELECT table_name, column_name FROM duckdb_columns()"
            ).fetchall()
        }
        assert {
            ("record_evidence", "evidence"),
            ("subscription_history", "evidence"),
            ("input_ledger", "suppressed"),
            ("suppressions", "contact_hash"),
            ("suppressed_records", "row_number"),
            ("erasure_audit", "contact_hash"),
        } <= columns
        assert con.execute("SELECT rows_in, applied, suppressed FROM input_ledger").fetchall() == [
            (2, 2, 0)
        ]
    finally:
        con.close()
    connect(path).close()  # and again: every statement is idempotent


# A warehouse of the release before: each observation and each history row held its evidence.
_WITH_EVIDENCE = """
CREATE TABLE observations (
    source_kind VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, source_file VARCHAR NOT NULL,
    row_number BIGINT, message_id VARCHAR, source VARCHAR NOT NULL, channel VARCHAR NOT NULL,
    contact VARCHAR NOT NULL, subscription_group VARCHAR, status VARCHAR,
    effective_at TIMESTAMP NOT NULL, received_at TIMESTAMP, user_id VARCHAR, anonymous_id VARCHAR,
    evidence VARCHAR
);
CREATE TABLE subscription_history (
    channel VARCHAR NOT NULL, contact VARCHAR NOT NULL, subscription_group VARCHAR,
    replay_step BIGINT NOT NULL, effective_at TIMESTAMP NOT NULL, source_kind VARCHAR NOT NULL,
    source VARCHAR, source_ref VARCHAR, source_file VARCHAR, row_number BIGINT,
    message_id VARCHAR, user_id VARCHAR, observed_status VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL, reason VARCHAR, status_after VARCHAR, locked_after BOOLEAN NOT NULL,
    evidence VARCHAR
);
INSERT INTO observations VALUES
    ('csv', 'a.csv', 'uploads/a.csv', 1, NULL, 'a.csv', 'email', 'a@example.com', NULL,
     'subscribed', TIMESTAMP '2024-01-01', NULL, NULL, NULL, '{"file": "a.csv", "row": 1}'),
    ('csv', 'a.csv', 'uploads/a.csv', 1, NULL, 'a.csv', 'sms', '+14155550100', NULL,
     'subscribed', TIMESTAMP '2024-01-01', NULL, NULL, NULL, '{"file": "a.csv", "row": 1}'),
    ('keyword', '2024-01-02', 'segment-logs/s/1/part-0.jsonl', 7, 'm1', 'm1', 'sms',
     '+14155550100', NULL, 'unsubscribed', TIMESTAMP '2024-01-02', TIMESTAMP '2024-01-02',
     NULL, NULL, '{"body": "STOP"}');
INSERT INTO subscription_history VALUES
    ('email', 'a@example.com', NULL, 1, TIMESTAMP '2024-01-01', 'csv', 'a.csv', 'uploads/a.csv:1',
     'uploads/a.csv', 1, NULL, NULL, 'subscribed', 'applied', NULL, 'subscribed', false,
     '{"file": "a.csv", "row": 1}'),
    ('sms', '+14155550100', NULL, 1, TIMESTAMP '2024-01-01', 'csv', 'a.csv', 'uploads/a.csv:1',
     'uploads/a.csv', 1, NULL, NULL, 'subscribed', 'applied', NULL, 'subscribed', false,
     '{"file": "a.csv", "row": 1}'),
    ('sms', '+14155550100', NULL, 2, TIMESTAMP '2024-01-02', 'keyword', 'm1',
     'segment-logs/s/1/part-0.jsonl#m1', 'segment-logs/s/1/part-0.jsonl', 7, 'm1', NULL,
     'unsubscribed', 'applied', NULL, 'unsubscribed', true, '{"body": "STOP"}');
"""


def test_an_older_warehouse_keeps_each_history_row_with_its_evidence(tmp_path: Path) -> None:
    """The evidence moves to one row per record and the history to history_steps; the
    subscription_history view shows exactly the rows and evidence the old table held."""
    path = tmp_path / "warehouse.duckdb"
    old = duckdb.connect(str(path))
    old.execute(_WITH_EVIDENCE)
    before = old.execute("SELECT * FROM subscription_history ORDER BY ALL").fetchall()
    old.close()
    for _ in range(2):  # the second open finds nothing left to migrate
        con = connect(path)
        try:
            assert con.execute("SELECT * FROM subscription_history ORDER BY ALL").fetchall() == (
                before
            )
            assert con.execute(
                "SELECT source_kind, partition_key, source_file, row_number FROM record_evidence "
                "ORDER BY ALL"
            ).fetchall() == [
                ("csv", "a.csv", "uploads/a.csv", 1),
                ("event_log", "2024-01-02", "segment-logs/s/1/part-0.jsonl", 7),
            ]
            observation_columns = {
                name
                for (name,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE table_name = 'observations'"
                ).fetchall()
            }
            assert "evidence" not in observation_columns
            assert con.execute("SELECT count(*) FROM observations").fetchall() == [(3,)]
        finally:
            con.close()


def test_the_summary_reads_a_warehouse_the_previous_release_published(tmp_path: Path) -> None:
    """Until the next resolution republishes it, the analysts' file keeps the older shape: the
    CLI's summary must still count its blocked steps."""
    path = tmp_path / "warehouse.duckdb"
    connect(path).close()  # the current tables, then the older shape made from them
    old = duckdb.connect(str(path))
    old.execute(
        "DROP VIEW subscription_history; DROP TABLE history_steps; "
        "CREATE TABLE subscription_history AS SELECT * FROM (VALUES "
        "('sms', '+14155550100', 'csv', 'subscribed', 'blocked', 'UNABLE_TO_SUBSCRIBE', 'x')) "
        "t(channel, contact, source_kind, observed_status, outcome, reason, evidence)"
    )
    old.close()
    assert "blocked  UNABLE_TO_SUBSCRIBE" in summarize(path)
