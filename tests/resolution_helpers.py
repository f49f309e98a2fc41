"""Test helpers for the resolution engine: observations as ingestion stores them, table readers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from subscription_pipeline.warehouse.columns import (  # noqa: F401 - re-exported to tests
    HISTORY_COLUMNS,
    OBSERVATION_COLUMNS,
    RECORD_EVIDENCE_COLUMNS,
    STATE_COLUMNS,
)

LOG_DAY = "2024-01-01"
LOG_FILE = "segment-logs/src1/1704067200000/part-0.jsonl"


def obs(
    kind: str,
    channel: str,
    contact: str,
    status: str | None,
    at: datetime,
    *,
    group: str | None = None,
    ref: str | int = 1,
    row: int = 1,
    user_id: str | None = None,
    evidence: str | None = None,
) -> dict[str, Any]:
    """One observation shaped like ingestion's: `ref` is the CSV file name (with `row`), the
    messageId of an event or keyword (its line in the log file is derived from it), or the API
    request id."""
    row_number: int | None = row
    if kind == "csv":
        partition, source_file, message_id, source = str(ref), f"uploads/{ref}", None, str(ref)
    elif kind in ("event", "keyword"):
        message_id = source = str(ref)
        partition, source_file = LOG_DAY, LOG_FILE
        row_number = _log_line(message_id)
    else:
        partition, source_file, message_id, source = LOG_DAY, f"api/{LOG_DAY}.jsonl", None, str(ref)
        row_number = _inbox_entry(source)
    return {
        "source_kind": kind,
        "partition_key": partition,
        "source_file": source_file,
        "row_number": row_number,
        "message_id": message_id,
        "source": source,
        "channel": channel,
        "contact": contact,
        "subscription_group": group,
        "status": status,
        "effective_at": at,
        "received_at": at if kind in ("event", "keyword") else None,
        "user_id": user_id,
        "anonymous_id": None,
        "evidence": evidence,
    }


_LOG_LINES: dict[str, int] = {}
_INBOX_ENTRIES: dict[str, int] = {}
_LEDGER_KIND = {"csv": "csv", "event": "event_log", "keyword": "event_log", "api": "api"}


def _log_line(message_id: str) -> int:
    # One line per messageId, so that no observation is a duplicate copy of another message.
    return _LOG_LINES.setdefault(message_id, len(_LOG_LINES) + 1)


def _inbox_entry(request_id: str) -> int:
    # One inbox entry (its `seq`) per request id: the record its evidence belongs to.
    return _INBOX_ENTRIES.setdefault(request_id, len(_INBOX_ENTRIES) + 1)


def insert_observations(
    con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], *, mark_dirty: bool = True
) -> None:
    """Store observations (and their log lines) and queue their vectors, as ingestion does."""
    if not rows:
        return
    # One statement per table: DuckDB runs each executemany row as its own statement.
    row_sql = "(" + ", ".join("?" for _ in OBSERVATION_COLUMNS) + ")"
    con.execute(
        f"INSERT INTO observations ({', '.join(OBSERVATION_COLUMNS)}) VALUES "
        + ", ".join(row_sql for _ in rows),
        [r[c] for r in rows for c in OBSERVATION_COLUMNS],
    )
    _insert_evidence(con, rows)
    lines = sorted(
        {
            (r["partition_key"], r["source_file"], r["row_number"], r["message_id"])
            for r in rows
            if r["source_kind"] in ("event", "keyword")
        }
    )
    if lines:
        con.execute(
            "INSERT INTO log_messages SELECT DISTINCT v.*, NULL::TIMESTAMP, 'applied' FROM (VALUES "
            + ", ".join("(?, ?, ?, ?)" for _ in lines)
            + ") v (partition_key, source_file, line_number, message_id) "
            "ANTI JOIN log_messages m ON m.source_file = v.source_file "
            "AND m.line_number = v.line_number",
            [value for line in lines for value in line],
        )
    if mark_dirty:
        vectors = sorted({(r["channel"], r["contact"]) for r in rows})
        con.execute(
            "INSERT INTO dirty_vectors VALUES " + ", ".join("(?, ?)" for _ in vectors),
            [value for vector in vectors for value in vector],
        )


def _insert_evidence(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Each record's evidence once, as ingestion stores it (record_evidence)."""
    records: dict[tuple, str] = {}
    for r in rows:
        if r["evidence"] is None:
            continue
        kind = _LEDGER_KIND[r["source_kind"]]
        key = (kind, r["partition_key"], r["source_file"], r["row_number"])
        assert records.setdefault(key, r["evidence"]) == r["evidence"], "one evidence per record"
    if records:
        # A record stored by an earlier call keeps its row, as a partition is stored once.
        row_sql = "(" + ", ".join("?" for _ in RECORD_EVIDENCE_COLUMNS) + ")"
        con.execute(
            "INSERT INTO record_evidence SELECT v.* FROM (VALUES "
            + ", ".join(row_sql for _ in records)
            + f") v ({', '.join(RECORD_EVIDENCE_COLUMNS)}) "
            "ANTI JOIN record_evidence e "
            "ON e.source_file = v.source_file AND e.row_number = v.row_number",
            [value for key, evidence in records.items() for value in (*key, evidence)],
        )


def _sort_key(row: tuple) -> tuple:
    return tuple((0, v) if v is not None else (1,) for v in row)


def as_tuples(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> list[tuple]:
    return sorted((tuple(r[c] for c in columns) for r in rows), key=_sort_key)


def read_tuples(
    con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...]
) -> list[tuple]:
    rows = con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
    return sorted(rows, key=_sort_key)


def read_dicts(
    con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None
) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
