"""The API inbox as the pipeline's third source: one partition per day of accepted requests.

A day is read whole from the SQLite inbox and replaces what that day wrote before (delete +
insert in one DuckDB transaction), so ingesting it again is idempotent. Each entry becomes an
`api` observation: effective time = acceptance time (UTC), `source` = the request id (replay
order item 4), `row_number` = the entry's inbox `seq` (its place in the inbox, item 5). Only
after the warehouse committed is the day marked as ingested in the inbox: a crash in between
re-ingests the day, never loses it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from subscription_pipeline.api.inbox import (
    days_with_new_entries,
    inbox_path,
    mark_ingested,
    open_inbox,
)
from subscription_pipeline.erasure.api_support import (
    days_with_suppressed_only,
    ensure_inbox_tables,
    suppressed_on_day,
)
from subscription_pipeline.errors import RecordError
from subscription_pipeline.ingest.store import (
    LedgerEntry,
    clear_partition,
    mark_dirty_observations,
    write_ledger_entry,
)
from subscription_pipeline.vocabulary import CHANNELS, STATUSES
from subscription_pipeline.warehouse.connection import transaction

SOURCE_KIND = "api"
_SCHEMA = {
    "seq": pl.Int64,
    "request_id": pl.String,
    "accepted_at": pl.String,
    "channel": pl.String,
    "contact": pl.String,
    "subscription_group": pl.String,
    "status": pl.String,
    "client": pl.String,
    "remote_addr": pl.String,
}


def partition_key(day: str) -> str:
    """Prefixed so that an inbox day never clashes with a received day of the event logs."""
    return f"api:{day}"


def source_file(day: str) -> str:
    return f"inbox/{day}"


def pending_inbox_days(data_dir: Path) -> list[str]:
    """Days with entries accepted since the last ingestion of that day (or with suppressed
    entries only, never counted yet)."""
    days = days_with_new_entries(inbox_path(data_dir))
    if not inbox_path(data_dir).exists():
        return days
    con = open_inbox(inbox_path(data_dir))
    try:
        return sorted({*days, *days_with_suppressed_only(con)})
    finally:
        con.close()


def inbox_has_day(data_dir: Path, day: str) -> bool:
    path = inbox_path(data_dir)
    if not path.exists():
        return False
    con = open_inbox(path)
    try:
        return (
            con.execute("SELECT 1 FROM entries WHERE day = ? LIMIT 1", (day,)).fetchone()
            is not None
        )
    finally:
        con.close()


def read_inbox_day(data_dir: Path, day: str) -> pl.DataFrame:
    """Every entry accepted that day, in seq order (a consistent read of the WAL database)."""
    con = open_inbox(inbox_path(data_dir))
    try:
        ensure_inbox_tables(con)
        rows = con.execute(
            "SELECT e.seq, e.request_id, e.accepted_at, e.channel, e.contact, "
            "e.subscription_group, e.status, v.client, v.remote_addr "
            "FROM entries e LEFT JOIN request_evidence v USING (request_id) "
            "WHERE e.day = ? ORDER BY e.seq",
            (day,),
        ).fetchall()
    finally:
        con.close()
    return pl.DataFrame(rows, schema=_SCHEMA, orient="row")


def suppressed_inbox_entries(data_dir: Path, day: str) -> int:
    """Observations of the day the service left out for suppressed contacts (never stored)."""
    con = open_inbox(inbox_path(data_dir))
    try:
        return suppressed_on_day(con, day)
    finally:
        con.close()


def ingest_inbox_day(con: duckdb.DuckDBPyConnection, data_dir: Path, day: str) -> LedgerEntry:
    entries = read_inbox_day(data_dir, day)
    key = partition_key(day)
    con.register("_inbox_day", entries)
    try:
        with transaction(con):
            clear_partition(con, SOURCE_KIND, key)
            # The service validated every entry; a row outside the vocabulary (a hand-edited
            # inbox) is still rejected with a code rather than stored.
            con.execute(
                """
                INSERT INTO observations (
                    source_kind, partition_key, source_file, row_number, message_id, source,
                    channel, contact, subscription_group, status, effective_at, evidence
                )
                SELECT 'api', ?, ?, seq, NULL, request_id, channel, contact, subscription_group,
                       status, accepted_at::TIMESTAMP,
                       nullif(to_json(map_from_entries(list_filter(
                           [{'k': 'client', 'v': client}, {'k': 'request_id', 'v': request_id},
                            {'k': 'remote_addr', 'v': remote_addr}],
                           lambda e: e.v IS NOT NULL
                       )))::VARCHAR, '{}')
                FROM _inbox_day
                WHERE list_contains(?, channel) AND list_contains(?, status)
                """,
                [key, source_file(day), list(CHANNELS), list(STATUSES)],
            )
            con.execute(
                """
                INSERT INTO rejections (
                    source_kind, partition_key, source_file, row_number, error_code,
                    error_message, raw_record
                )
                SELECT 'api', ?, ?, seq,
                       CASE WHEN NOT list_contains(?, channel) THEN ? ELSE ? END,
                       'inbox entry outside the vocabulary', request_id
                FROM _inbox_day
                WHERE NOT (list_contains(?, channel) AND list_contains(?, status))
                """,
                [
                    key,
                    source_file(day),
                    list(CHANNELS),
                    RecordError.INVALID_CHANNEL.value,
                    RecordError.INVALID_SUBSCRIPTION_STATUS.value,
                    list(CHANNELS),
                    list(STATUSES),
                ],
            )
            mark_dirty_observations(con, "partition_key = ? AND source_kind = 'api'", [key])
            [(applied,)] = con.execute(
                "SELECT count(*) FROM observations WHERE partition_key = ? AND source_kind = 'api'",
                [key],
            ).fetchall()
            left_out = suppressed_inbox_entries(data_dir, day)
            ledger = LedgerEntry(
                source_file=source_file(day),
                source_kind=SOURCE_KIND,
                partition_key=key,
                status="ingested",
                rows_in=entries.height + left_out,
                applied=applied,
                ignored=0,
                duplicate=0,
                rejected=entries.height - applied,
                suppressed=left_out,
            )
            ledger = write_ledger_entry(con, ledger)
    finally:
        con.unregister("_inbox_day")
    if entries.height or ledger.suppressed:
        inbox = open_inbox(inbox_path(data_dir))
        try:
            through = int(entries["seq"].max() or 0)  # type: ignore[arg-type]
            mark_ingested(inbox, day, through, entries.height, datetime.now(UTC))
        finally:
            inbox.close()
    return ledger
