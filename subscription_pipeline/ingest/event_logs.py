"""Segment event-log ingestion (SPEC 2.2): one received day = one partition.

How a day is read, and why:
- DuckDB reads the day's files, in parallel, and keeps only the lines worth parsing: those whose
  raw text can matter (`messaging_subscriptions`, `SMS Received`, `WhatsApp Message Received`)
  and those to reject (not a JSON object). Every other line is counted as ignored, never parsed
  (log_stage.py). A file DuckDB cannot read goes to Python's exact reader; a truncated or corrupt
  gzip rejects that file whole (CORRUPT_FILE) and the rest of the day ingests.
- All parsing is set-based SQL (log_parse.sql): `json_valid`, then `from_json` with an explicit
  structure, so memory is DuckDB's (bounded, spilling) rather than a Python object per event.
- A line that is not valid UTF-8 is rejected alone as INVALID_JSON; blank lines are counted as
  ignored.
- Each messaging_subscriptions entry is judged on its own; `groups` count on EMAIL entries only
  and are ignored on SMS/WHATSAPP entries (the channel status still applies). An entry without
  a valid status is rejected even if it has groups (Segment requires one). A
  messaging_subscriptions that is not a list, or an EMAIL entry's groups that is not a list, is
  rejected (INVALID_SUBSCRIPTIONS), never read as "no subscriptions".
- A line's outcome before de-duplication: rejected (not JSON, or all it asked was invalid),
  applied (something valid), ignored (nothing to apply). `duplicate` then counts the applied
  lines whose messageId was won by another copy (global, by the `message_winners` view); an
  ignored or rejected copy keeps its outcome, having nothing to apply anyway. Only the parsed
  lines' messageIds are recorded (log_messages): a line that cannot matter is ignored whichever
  copy it is. Only the copies of the messageIds a day touches can change winner, so each ingest
  recounts just those (by difference) instead of re-reading every day's log_messages.
- Timestamps are repaired, never a reason to drop: missing/unparseable `timestamp` ->
  `receivedAt` (or the received day's midnight when that is missing too), a future one is
  clamped, and a `receivedAt` after the end of its day folder is clamped to that end; each repair
  of an applied line is a warning in `ingest_warnings`.
- Folders under a source that are not a received day are put on record on their own
  (INVALID_DAY_FOLDER, DAY_OUT_OF_RANGE) by every day's ingest, under the partition key
  ODD_FOLDERS_PARTITION; they never stop a day.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl

from subscription_pipeline import vocabulary
from subscription_pipeline.ingest import log_sql
from subscription_pipeline.ingest.log_layout import (
    LOGS_DIR,
    day_start,
    list_log_days,
    log_files_for_day,
    odd_day_folders,
)
from subscription_pipeline.ingest.log_stage import (
    STAGE_TABLE,
    PrestagedDay,
    StagedFile,
    create_stage,
    stage_files,
)
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.ingest.store import (
    LedgerEntry,
    clear_partition,
    mark_dirty_observations,
    write_ledger_entry,
)
from subscription_pipeline.normalize import fill_normalization_cache
from subscription_pipeline.warehouse.connection import transaction

__all__ = ["LOGS_DIR", "ingest_log_day", "list_log_days", "log_files_for_day"]

SOURCE_KIND = "event_log"
# The ledger's partition key of the folders that are not a received day (rewritten by each day).
ODD_FOLDERS_PARTITION = "odd-day-folders"
_TEMP_TABLES = (
    "_log_vocab",
    "_log_lines",
    "_log_candidates",
    "_log_judged",
    "_log_outcomes",
    "_log_touched",
    "_log_dup_before",
)
# Observations of other days that share a messageId with this day (before or after the
# rewrite, see `touched_messages`): their winner may change.
_SHARED_MESSAGES = (
    "source_kind IN ('event', 'keyword') AND partition_key <> ? "
    "AND message_id IN (SELECT message_id FROM _log_touched)"
)

# The keys of a known channel, per normalisation kind (an unknown channel is rejected first).
_RAW_KEYS = {
    "email": "SELECT key_raw AS raw FROM _log_candidates "
    "WHERE key_kind = 'email' AND channel IS NOT NULL",
    "phone": "SELECT key_raw AS raw FROM _log_candidates "
    "WHERE key_kind = 'phone' AND channel IS NOT NULL",
}


def _vocabulary_frame() -> pl.DataFrame:
    rows = [
        *(("channel", c, c) for c in vocabulary.CHANNELS),
        *(("status", s, s) for s in vocabulary.STATUSES),
        *(("inbound_event", k, v) for k, v in vocabulary.INBOUND_EVENTS.items()),
        *(("keyword", k, "unsubscribed") for k in vocabulary.OPT_OUT_KEYWORDS),
        *(("keyword", k, "subscribed") for k in vocabulary.OPT_IN_KEYWORDS),
    ]
    return pl.DataFrame(rows, schema=["kind", "spelling", "value"], orient="row")


def _create_temp_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    con.register("_log_frame", frame)
    try:
        # Names come from this module's constants, never from input.
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _log_frame")
    finally:
        con.unregister("_log_frame")


def _normalise_keys(con: duckdb.DuckDBPyConnection, region: str) -> None:
    """Cache every new key of the day; `judged` then looks contacts up with a join in SQL."""
    for kind, raw_sql in _RAW_KEYS.items():
        fill_normalization_cache(con, kind, raw_sql, region)


def _ledger_entries(
    con: duckdb.DuckDBPyConnection, day: str, staged: list[StagedFile]
) -> list[LedgerEntry]:
    counts = {row[0]: row[1:] for row in log_sql.frame(con, "file_counts").rows()}
    warnings = dict(log_sql.frame(con, "file_warnings", {"day": day}).rows())
    entries = []
    for file in staged:
        if file.error_code is not None:
            entries.append(
                LedgerEntry(
                    file.source_file,
                    SOURCE_KIND,
                    day,
                    "rejected",
                    0,
                    0,
                    0,
                    0,
                    0,
                    size_bytes=file.size_bytes,
                    error_code=file.error_code,
                    error_message=file.error_message,
                )  # fmt: skip
            )
            continue
        rows_in, applied, ignored, rejected = counts.get(file.source_file, (0, 0, 0, 0))
        entries.append(
            LedgerEntry(
                file.source_file,
                SOURCE_KIND,
                day,
                "ingested",
                rows_in,
                applied,
                ignored,
                0,
                rejected,
                warnings=warnings.get(file.source_file, 0),
                content_sha256=file.content_sha256,
                size_bytes=file.size_bytes,
            )  # fmt: skip
        )
    return entries


def _write_file_rejections(
    con: duckdb.DuckDBPyConnection, day: str, staged: list[StagedFile]
) -> None:
    for file in staged:
        if file.error_code is not None:
            con.execute(
                "INSERT INTO rejections (source_kind, partition_key, source_file, row_number, "
                "error_code, error_message, raw_record) VALUES (?, ?, ?, NULL, ?, ?, NULL)",
                [SOURCE_KIND, day, file.source_file, file.error_code, file.error_message],
            )


def _record_odd_folders(con: duckdb.DuckDBPyConnection, data_dir: Path) -> None:
    """Replace the record of the odd day folders by what the landing zone holds now."""
    for table in ("rejections", "input_ledger"):
        # Table names come from this tuple, never from input.
        con.execute(
            f"DELETE FROM {table} WHERE source_kind = ? AND partition_key = ?",
            [SOURCE_KIND, ODD_FOLDERS_PARTITION],
        )
    for folder in odd_day_folders(data_dir):
        con.execute(
            "INSERT INTO rejections (source_kind, partition_key, source_file, row_number, "
            "error_code, error_message, raw_record) VALUES (?, ?, ?, NULL, ?, ?, NULL)",
            [SOURCE_KIND, ODD_FOLDERS_PARTITION, folder.path, folder.error_code,
             folder.error_message],
        )  # fmt: skip
        write_ledger_entry(
            con,
            LedgerEntry(
                folder.path,
                SOURCE_KIND,
                ODD_FOLDERS_PARTITION,
                "rejected",
                0,
                0,
                0,
                0,
                0,
                error_code=folder.error_code,
                error_message=folder.error_message,
            ),  # fmt: skip
        )


def _read_ledger(con: duckdb.DuckDBPyConnection, day: str) -> list[LedgerEntry]:
    rows = con.execute(
        """
        SELECT source_file, source_kind, partition_key, status, rows_in, applied, ignored,
               duplicate, rejected, warnings, uploaded_at, content_sha256, size_bytes,
               error_code, error_message, suppressed
        FROM input_ledger WHERE source_kind = ? AND partition_key = ?
        ORDER BY source_file
        """,
        [SOURCE_KIND, day],
    ).fetchall()
    return [LedgerEntry(*row) for row in rows]


def ingest_log_day(
    con: duckdb.DuckDBPyConnection,
    data_dir: Path,
    day: str,
    settings: IngestSettings,
    prestaged: PrestagedDay | None = None,
) -> list[LedgerEntry]:
    """Ingest one received day as one partition (partition_key = day, ledger source_kind
    'event_log'), idempotently in ONE transaction: clear_partition('event_log', day), then
    insert. One ledger row per file.

    `prestaged`: the day's files already staged (log_prefetch.py reads the next day while this
    one is parsed); otherwise they are staged here.
    """
    start = day_start(day)
    params = {
        "day": day,
        "day_start": start,
        "day_end": start + timedelta(days=1),
        "tolerance": settings.future_tolerance_seconds,
        "statuses": list(vocabulary.STATUSES),
        "region": settings.default_region,
    }
    try:
        if prestaged is None:
            create_stage(con)
            # Reading happens before the write transaction: it holds the lock only to write.
            staged = stage_files(con, data_dir, log_files_for_day(data_dir, day))
        else:
            # The statements read `_log_stage`: here a view of the table staged in advance.
            con.execute(f"CREATE OR REPLACE TEMP VIEW {STAGE_TABLE} AS FROM {prestaged.table}")
            staged = prestaged.files
        _create_temp_table(con, "_log_vocab", _vocabulary_frame())
        with transaction(con):
            log_sql.run(con, "utc_macro")
            log_sql.run(con, "evidence_macro")
            log_sql.run(con, "json_kind_macro")
            log_sql.run(con, "lines", params)
            log_sql.run(con, "candidates")
            _normalise_keys(con, settings.default_region)
            log_sql.run(con, "judged", params)
            log_sql.run(con, "outcomes")

            log_sql.run(con, "touched_messages", params)
            log_sql.run(con, "duplicates_before", params)
            mark_dirty_observations(con, _SHARED_MESSAGES, [day])
            clear_partition(con, SOURCE_KIND, day)
            for name in (
                "insert_observations",
                "insert_evidence",
                "insert_rejections",
                "insert_warnings",
                "insert_log_messages",
            ):
                log_sql.run(con, name, params)
            _write_file_rejections(con, day, staged)
            for entry in _ledger_entries(con, day, staged):
                write_ledger_entry(con, entry)
            mark_dirty_observations(
                con, "partition_key = ? AND source_kind IN ('event', 'keyword')", [day]
            )
            log_sql.run(con, "recount_duplicates")
            _record_odd_folders(con, data_dir)
        return _read_ledger(con, day)
    finally:
        con.execute(f"DROP {'TABLE' if prestaged is None else 'VIEW'} IF EXISTS {STAGE_TABLE}")
        for table in _TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
