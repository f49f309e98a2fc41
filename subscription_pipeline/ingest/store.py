"""Writing one partition's rows idempotently: what a partition wrote is replaced, never doubled."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb

from subscription_pipeline.erasure.enforce import StoredFile, suppress_stored_rows

if TYPE_CHECKING:
    import polars as pl

# Observation source kinds written by each ledger source kind.
OBSERVATION_KINDS = {"csv": ("csv",), "event_log": ("event", "keyword"), "api": ("api",)}
# A ledger entry's counts, in the order the summaries print them.
LEDGER_COUNTS = ("rows_in", "applied", "ignored", "duplicate", "rejected", "suppressed", "warnings")
# Tables keyed by (source_kind, partition_key) that a partition owns.
_PARTITION_TABLES = ("record_evidence", "rejections", "ingest_warnings", "suppressed_records")


@dataclass(frozen=True)
class LedgerEntry:
    """One input file's fate; rows_in == applied + ignored + duplicate + rejected + suppressed."""

    source_file: str
    source_kind: str  # 'csv' | 'event_log' | 'api'
    partition_key: str
    status: str  # 'ingested' | 'rejected'
    rows_in: int
    applied: int
    ignored: int
    duplicate: int
    rejected: int
    warnings: int = 0
    uploaded_at: datetime | None = None
    content_sha256: str | None = None
    size_bytes: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    suppressed: int = 0  # rows of erased contacts, left out (SPEC 3)

    @property
    def balanced(self) -> bool:
        return self.rows_in == (
            self.applied + self.ignored + self.duplicate + self.rejected + self.suppressed
        )


def mark_dirty_observations(con: duckdb.DuckDBPyConnection, where_sql: str, params: list) -> None:
    """Queue for re-resolution every vector of the observations matching a fixed WHERE clause.

    `where_sql` is code, never data: values always travel in `params`.
    """
    con.execute(
        "INSERT INTO dirty_vectors SELECT DISTINCT channel, contact FROM observations WHERE "
        + where_sql,
        params,
    )


def store_record_evidence(
    con: duckdb.DuckDBPyConnection,
    observations: pl.DataFrame,
    source_kind: str,
    partition_key: str,
    source_file: str,
) -> None:
    """Store once per record (`row_number`) the `evidence` its observations all carry: a CSV row
    or an inbox entry gives one observation per vector, each with the record's evidence."""
    con.register("_record_observations", observations)
    try:
        con.execute(
            """
            INSERT INTO record_evidence (
                source_kind, partition_key, source_file, row_number, evidence
            )
            SELECT ?, ?, ?, row_number, any_value(evidence)
            FROM _record_observations
            WHERE evidence IS NOT NULL
            GROUP BY row_number
            """,
            [source_kind, partition_key, source_file],
        )
    finally:
        con.unregister("_record_observations")


def clear_partition(con: duckdb.DuckDBPyConnection, source_kind: str, partition_key: str) -> None:
    """Delete everything a partition wrote, first queueing its vectors for re-resolution.

    Call inside a transaction, followed by the partition's fresh inserts.
    """
    kinds = list(OBSERVATION_KINDS[source_kind])
    mark_dirty_observations(
        con, "partition_key = ? AND list_contains(?, source_kind)", [partition_key, kinds]
    )
    con.execute(
        "DELETE FROM observations WHERE partition_key = ? AND list_contains(?, source_kind)",
        [partition_key, kinds],
    )
    for table in _PARTITION_TABLES:
        # Table names come from the constant above, never from input.
        con.execute(
            f"DELETE FROM {table} WHERE partition_key = ? AND source_kind = ?",
            [partition_key, source_kind],
        )
    con.execute(
        "DELETE FROM input_ledger WHERE partition_key = ? AND source_kind = ?",
        [partition_key, source_kind],
    )
    if source_kind == "event_log":
        con.execute("DELETE FROM log_messages WHERE partition_key = ?", [partition_key])


def write_ledger_entry(con: duckdb.DuckDBPyConnection, entry: LedgerEntry) -> LedgerEntry:
    """Write a file's ledger row, after leaving out its rows of suppressed contacts: every
    reader ends a partition here, so every path honours an erasure (erasure/enforce.py)."""
    if entry.status == "ingested":
        stored = StoredFile(
            entry.source_kind,
            OBSERVATION_KINDS[entry.source_kind],
            entry.partition_key,
            entry.source_file,
        )
        left_out = suppress_stored_rows(con, stored)
        entry = replace(
            entry, applied=entry.applied - left_out, suppressed=entry.suppressed + left_out
        )
    con.execute(
        """
        INSERT OR REPLACE INTO input_ledger (
            source_file, source_kind, partition_key, status, uploaded_at, content_sha256,
            size_bytes, rows_in, applied, ignored, duplicate, rejected, warnings,
            error_code, error_message, ingested_at, suppressed
        ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            entry.source_file,
            entry.source_kind,
            entry.partition_key,
            entry.status,
            entry.uploaded_at,
            entry.content_sha256,
            entry.size_bytes,
            entry.rows_in,
            entry.applied,
            entry.ignored,
            entry.duplicate,
            entry.rejected,
            entry.warnings,
            entry.error_code,
            entry.error_message,
            # UTC from Python: DuckDB's now()::TIMESTAMP is in the session's local time zone,
            # and `reconcile` compares this with file modification times in UTC.
            datetime.now(UTC).replace(tzinfo=None),
            entry.suppressed,
        ],
    )
    return entry
