"""The API inbox as the pipeline's third source: one partition per day of accepted requests.

A day is read whole from the SQLite inbox and replaces what that day wrote before (delete +
insert in one DuckDB transaction), so ingesting it again is idempotent. Each entry becomes an
`api` observation: effective time = acceptance time (UTC), `source` = the request id (replay
order item 4), `row_number` = the entry's inbox `seq` (its place in the inbox, item 5). Only
after the warehouse committed is the day marked as ingested in the inbox: a crash in between
re-ingests the day, never loses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from subscription_pipeline.api.inbox import (
    inbox_path,
    mark_ingested,
    open_inbox,
)
from subscription_pipeline.erasure.api_support import (
    ensure_inbox_tables,
    suppressed_on_day,
)
from subscription_pipeline.errors import RecordError
from subscription_pipeline.ingest.store import (
    LedgerEntry,
    clear_partition,
    mark_dirty_observations,
    store_record_evidence,
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


@dataclass(frozen=True)
class InboxOutcome:
    """What one inbox day stores; `entry` is the ledger row before the warehouse's suppressions."""

    entry: LedgerEntry
    observations: pl.DataFrame  # row_number (seq), source, channel, ..., effective_at, evidence
    rejections: pl.DataFrame  # row_number, error_code, error_message, raw_record
    through_seq: int  # the last seq read: the inbox is marked ingested up to it
    entries: int  # entries read


# The service validated every entry; a row outside the vocabulary (a hand-edited inbox) is still
# rejected with a code rather than stored.
_OBSERVATIONS_SQL = """
SELECT seq AS row_number, request_id AS source, channel, contact, subscription_group, status,
       accepted_at::TIMESTAMP AS effective_at,
       nullif(to_json(map_from_entries(list_filter(
           [{'k': 'client', 'v': client}, {'k': 'request_id', 'v': request_id},
            {'k': 'remote_addr', 'v': remote_addr}],
           lambda e: e.v IS NOT NULL
       )))::VARCHAR, '{}') AS evidence
FROM _inbox_day
WHERE list_contains($channels, channel) AND list_contains($statuses, status)
ORDER BY seq
"""
_REJECTIONS_SQL = """
SELECT seq AS row_number,
       CASE WHEN NOT list_contains($channels, channel) THEN $bad_channel ELSE $bad_status END
           AS error_code,
       'inbox entry outside the vocabulary' AS error_message, request_id AS raw_record
FROM _inbox_day
WHERE NOT (list_contains($channels, channel) AND list_contains($statuses, status))
ORDER BY seq
"""


def inbox_day_outcome(data_dir: Path, day: str) -> InboxOutcome:
    """The outcome of the inbox's `day`: a function of the inbox, no warehouse (a private
    in-memory DuckDB builds the rows)."""
    entries = read_inbox_day(data_dir, day)
    params = {
        "channels": list(CHANNELS),
        "statuses": list(STATUSES),
        "bad_channel": RecordError.INVALID_CHANNEL.value,
        "bad_status": RecordError.INVALID_SUBSCRIPTION_STATUS.value,
    }
    con = duckdb.connect()
    try:
        con.register("_inbox_day", entries)
        observations = con.sql(
            _OBSERVATIONS_SQL, params={k: params[k] for k in ("channels", "statuses")}
        ).pl()
        rejections = con.sql(_REJECTIONS_SQL, params=params).pl()
    finally:
        con.close()
    left_out = suppressed_inbox_entries(data_dir, day)
    entry = LedgerEntry(
        source_file=source_file(day),
        source_kind=SOURCE_KIND,
        partition_key=partition_key(day),
        status="ingested",
        rows_in=entries.height + left_out,
        applied=observations.height,
        ignored=0,
        duplicate=0,
        rejected=entries.height - observations.height,
        suppressed=left_out,
    )
    through = int(entries["seq"].max() or 0)  # type: ignore[arg-type]
    return InboxOutcome(entry, observations, rejections, through, entries.height)


def store_inbox_outcome(con: duckdb.DuckDBPyConnection, outcome: InboxOutcome) -> LedgerEntry:
    """Replace what the day's partition stored with `outcome`; call inside a transaction.

    Returns the ledger entry as written: observations of suppressed contacts left out, counted."""
    entry = outcome.entry
    key = entry.partition_key
    clear_partition(con, SOURCE_KIND, key)
    con.register("_inbox_rows", outcome.observations)
    try:
        con.execute(
            """
            INSERT INTO observations (
                source_kind, partition_key, source_file, row_number, message_id, source,
                channel, contact, subscription_group, status, effective_at
            )
            SELECT 'api', ?, ?, row_number, NULL, source, channel, contact, subscription_group,
                   status, effective_at
            FROM _inbox_rows
            """,
            [key, entry.source_file],
        )
    finally:
        con.unregister("_inbox_rows")
    store_record_evidence(con, outcome.observations, SOURCE_KIND, key, entry.source_file)
    con.register("_inbox_rows", outcome.rejections)
    try:
        con.execute(
            """
            INSERT INTO rejections (
                source_kind, partition_key, source_file, row_number, error_code,
                error_message, raw_record
            )
            SELECT 'api', ?, ?, row_number, error_code, error_message, raw_record
            FROM _inbox_rows
            """,
            [key, entry.source_file],
        )
    finally:
        con.unregister("_inbox_rows")
    mark_dirty_observations(con, "partition_key = ? AND source_kind = 'api'", [key])
    return write_ledger_entry(con, entry)


def mark_inbox_day_ingested(
    data_dir: Path, day: str, outcome: InboxOutcome, stored: LedgerEntry
) -> None:
    """After the warehouse committed the day: a crash before this only re-ingests it."""
    if outcome.entries or stored.suppressed:
        inbox = open_inbox(inbox_path(data_dir))
        try:
            mark_ingested(inbox, day, outcome.through_seq, outcome.entries, datetime.now(UTC))
        finally:
            inbox.close()


def ingest_inbox_day(con: duckdb.DuckDBPyConnection, data_dir: Path, day: str) -> LedgerEntry:
    outcome = inbox_day_outcome(data_dir, day)
    with transaction(con):
        ledger = store_inbox_outcome(con, outcome)
    mark_inbox_day_ingested(data_dir, day, outcome, ledger)
    return ledger
