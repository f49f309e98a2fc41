"""A warehouse made before evidence and erasure gains their columns and tables on open."""

from __future__ import annotations

from pathlib import Path

import duckdb

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
            ("observations", "evidence"),
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
