"""Ingesting one CSV upload as one partition (SPEC 2.1): observations, rejections, ledger row.

The partition is the upload's file name. Re-ingesting replaces what the partition wrote, in one
transaction, so a file ingested twice is counted once. Every data row is accounted for: applied
(at least one observation) or rejected (no observation).
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from subscription_pipeline.ingest.csv_errors import UploadRejected
from subscription_pipeline.ingest.csv_header import classify_header
from subscription_pipeline.ingest.csv_read import parse_upload, read_upload_bytes
from subscription_pipeline.ingest.csv_vectors import judge_rows
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.ingest.store import (
    LedgerEntry,
    clear_partition,
    mark_dirty_observations,
    write_ledger_entry,
)
from subscription_pipeline.ingest.upload_time import resolve_uploaded_at, uploaded_at_from_name
from subscription_pipeline.warehouse.connection import transaction

UPLOADS_DIR = "uploads"
SOURCE_KIND = "csv"


def list_uploads(data_dir: Path) -> list[str]:
    """Names of entries in data_dir/uploads ending .csv (any case), sorted.

    Non-regular entries (symlinks etc.) are included so that they get rejected with
    NOT_A_REGULAR_FILE, never followed.
    """
    folder = Path(data_dir) / UPLOADS_DIR
    if not folder.is_dir():
        return []
    with os.scandir(folder) as entries:
        return sorted(entry.name for entry in entries if entry.name.lower().endswith(".csv"))


def upload_source_file(file_name: str) -> str:
    """The upload's path relative to the data directory, as the ledger and rejections name it."""
    return f"{UPLOADS_DIR}/{file_name}"


def _insert_frame(
    con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, sql: str, params: list
) -> None:
    con.register("csv_upload_frame", frame)
    try:
        con.execute(sql, params)
    finally:
        con.unregister("csv_upload_frame")


def _write_rows(
    con: duckdb.DuckDBPyConnection,
    file_name: str,
    observations: pl.DataFrame,
    rejected: pl.DataFrame,
    uploaded_at: datetime | None,
    content_sha256: str | None = None,
) -> None:
    source_file = upload_source_file(file_name)
    _insert_frame(
        con,
        observations,
        """
        INSERT INTO observations (
            source_kind, partition_key, source_file, row_number, message_id, source, channel,
            contact, subscription_group, status, effective_at, received_at, user_id, anonymous_id,
            evidence
        )
        SELECT ?, ?, ?, row_number, NULL, ?, channel, contact, subscription_group, status,
               ?, NULL, user_id, anonymous_id,
               json_object('file', ?, 'sha256', ?, 'row', row_number)::VARCHAR
        FROM csv_upload_frame
        """,
        [SOURCE_KIND, file_name, source_file, file_name, uploaded_at, file_name, content_sha256],
    )
    _insert_frame(
        con,
        rejected,
        """
        INSERT INTO rejections (
            source_kind, partition_key, source_file, row_number, error_code, error_message,
            raw_record
        )
        SELECT ?, ?, ?, row_number, error_code, error_message, raw_record FROM csv_upload_frame
        """,
        [SOURCE_KIND, file_name, source_file],
    )
    # The new observations' vectors need resolving too, not only the ones cleared.
    mark_dirty_observations(con, "partition_key = ? AND source_kind = ?", [file_name, SOURCE_KIND])


def _reject_file(
    con: duckdb.DuckDBPyConnection, entry: LedgerEntry, error: UploadRejected
) -> LedgerEntry:
    con.execute(
        """
        INSERT INTO rejections (
            source_kind, partition_key, source_file, row_number, error_code, error_message,
            raw_record
        ) VALUES (?, ?, ?, NULL, ?, ?, NULL)
        """,
        [SOURCE_KIND, entry.partition_key, entry.source_file, error.code.value, error.message],
    )
    return replace(
        entry,
        status="rejected",
        rows_in=error.rows_in,
        rejected=error.rows_in,
        error_code=error.code.value,
        error_message=error.message,
    )


def _ingest(
    con: duckdb.DuckDBPyConnection, path: Path, file_name: str, settings: IngestSettings
) -> LedgerEntry:
    entry = LedgerEntry(
        source_file=upload_source_file(file_name),
        source_kind=SOURCE_KIND,
        partition_key=file_name,
        status="ingested",
        rows_in=0,
        applied=0,
        ignored=0,
        duplicate=0,
        rejected=0,
        uploaded_at=uploaded_at_from_name(file_name),
    )
    info = path.lstat()  # a vanished file is the caller's problem: FileNotFoundError
    if stat.S_ISREG(info.st_mode):
        # Registered at first sight, even if the content is rejected: a fix keeps the time.
        uploaded_at = resolve_uploaded_at(con, file_name, info.st_mtime)
        entry = replace(entry, uploaded_at=uploaded_at, size_bytes=info.st_size)
    rows_in = 0
    try:
        data = read_upload_bytes(path, settings.max_bytes)
        entry = replace(
            entry, content_sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data)
        )
        upload = parse_upload(data, settings.max_rows)
        rows_in = upload.rows.height
        layout = classify_header(upload.header)
    except UploadRejected as error:
        error.rows_in = error.rows_in or rows_in
        return _reject_file(con, entry, error)
    observations, rejected = judge_rows(con, upload.rows, layout, settings.default_region)
    _write_rows(con, file_name, observations, rejected, entry.uploaded_at, entry.content_sha256)
    applied = observations.get_column("row_number").n_unique()
    return replace(entry, rows_in=rows_in, applied=applied, rejected=rows_in - applied)


def ingest_upload(
    con: duckdb.DuckDBPyConnection, data_dir: Path, file_name: str, settings: IngestSettings
) -> LedgerEntry:
    """Ingest one upload as one partition and return its ledger entry.

    partition_key = file_name, ledger source_kind 'csv', source_file = 'uploads/<file_name>'.
    Idempotent, in ONE transaction: clear_partition('csv', file_name), then the observations,
    rejections and ledger row. A file-level defect rejects the whole upload (ledger status
    'rejected', one rejection with row_number NULL, nothing observed).
    """
    path = Path(data_dir) / UPLOADS_DIR / file_name
    with transaction(con):
        clear_partition(con, SOURCE_KIND, file_name)
        entry = _ingest(con, path, file_name, settings)
        entry = write_ledger_entry(con, entry)  # with its suppressed rows counted
    return entry
