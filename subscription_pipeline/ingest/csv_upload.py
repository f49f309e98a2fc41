"""Ingesting one CSV upload as one partition (SPEC 2.1): its outcome stored in the warehouse.

The partition is the upload's file name. Judging the file is `csv_outcome.judge_upload_file`,
which holds no connection; this module stores what it judged (`store_upload`): registers the
upload's time, adds the parsed keys to the normalisation cache and replaces the partition's
rows, in one transaction, so a file ingested twice is counted once. The loader of the staging
area stores a staged upload with the same function. Every data row is accounted for: applied
(at least one observation) or rejected (no observation).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from subscription_pipeline.ingest.csv_outcome import (
    SOURCE_KIND,
    JudgedUpload,
    UploadOutcome,
    judge_upload_file,
)
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.ingest.store import (
    LedgerEntry,
    clear_partition,
    mark_dirty_observations,
    store_record_evidence,
    write_ledger_entry,
)
from subscription_pipeline.ingest.upload_files import UPLOADS_DIR as UPLOADS_DIR  # re-export
from subscription_pipeline.ingest.upload_files import list_uploads as list_uploads  # re-export
from subscription_pipeline.ingest.upload_time import resolve_uploaded_at, uploaded_at_from_name
from subscription_pipeline.normalize import cached_values
from subscription_pipeline.warehouse.connection import transaction


def register_time(
    con: duckdb.DuckDBPyConnection, file_name: str, mtime: float | None
) -> datetime | None:
    """The upload's time, registered at first sight even if its content is rejected (a fix keeps
    the time); a file that is not regular (`mtime` None) is never registered."""
    if mtime is None:
        return uploaded_at_from_name(file_name)
    return resolve_uploaded_at(con, file_name, mtime)


def _insert_frame(
    con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, sql: str, params: list
) -> None:
    con.register("csv_upload_frame", frame)
    try:
        con.execute(sql, params)
    finally:
        con.unregister("csv_upload_frame")


def store_outcome(con: duckdb.DuckDBPyConnection, outcome: UploadOutcome) -> LedgerEntry:
    """Replace what the upload's partition stored with `outcome`; call inside a transaction.

    Returns the ledger entry as written: rows of suppressed contacts left out and counted."""
    entry = outcome.entry
    key, source_file = entry.partition_key, entry.source_file
    clear_partition(con, SOURCE_KIND, key)
    _insert_frame(
        con,
        outcome.observations,
        """
        INSERT INTO observations (
            source_kind, partition_key, source_file, row_number, message_id, source, channel,
            contact, subscription_group, status, effective_at, received_at, user_id, anonymous_id
        )
        SELECT ?, ?, ?, row_number, NULL, ?, channel, contact, subscription_group, status,
               ?, NULL, user_id, anonymous_id
        FROM csv_upload_frame
        """,
        [SOURCE_KIND, key, source_file, key, entry.uploaded_at],
    )
    store_record_evidence(con, outcome.observations, SOURCE_KIND, key, source_file)
    _insert_frame(
        con,
        outcome.rejections,
        """
        INSERT INTO rejections (
            source_kind, partition_key, source_file, row_number, error_code, error_message,
            raw_record
        )
        SELECT ?, ?, ?, row_number, error_code, error_message, raw_record FROM csv_upload_frame
        """,
        [SOURCE_KIND, key, source_file],
    )
    _insert_frame(
        con,
        outcome.warnings,
        """
        INSERT INTO ingest_warnings (
            source_kind, partition_key, source_file, row_number, warning_code, warning_message
        )
        SELECT ?, ?, ?, row_number, warning_code, warning_message FROM csv_upload_frame
        """,
        [SOURCE_KIND, key, source_file],
    )
    # The new observations' vectors need resolving too, not only the ones cleared.
    mark_dirty_observations(con, "partition_key = ? AND source_kind = ?", [key, SOURCE_KIND])
    return write_ledger_entry(con, entry)  # with its suppressed rows counted


def add_cached_keys(con: duckdb.DuckDBPyConnection, keys: pl.DataFrame) -> None:
    """Add to the normalisation cache the parsed keys it does not hold yet."""
    _insert_frame(
        con,
        keys.select("kind", "region", "raw", "normalized", "error_message"),
        "INSERT INTO normalized_identifiers BY NAME SELECT * FROM csv_upload_frame s "
        "WHERE NOT EXISTS (SELECT 1 FROM normalized_identifiers n "
        "WHERE n.kind = s.kind AND n.region = s.region AND n.raw = s.raw)",
        [],
    )


def store_upload(con: duckdb.DuckDBPyConnection, judged: JudgedUpload) -> LedgerEntry:
    """Store a judged upload: its time registered, its keys cached, its partition replaced;
    call inside a transaction. Returns the ledger entry as written."""
    entry = judged.outcome.entry
    uploaded_at = register_time(con, entry.partition_key, judged.mtime)
    add_cached_keys(con, judged.keys)
    outcome = replace(judged.outcome, entry=replace(entry, uploaded_at=uploaded_at))
    return store_outcome(con, outcome)


def ingest_upload(
    con: duckdb.DuckDBPyConnection, data_dir: Path, file_name: str, settings: IngestSettings
) -> LedgerEntry:
    """Ingest one upload as one partition and return its ledger entry.

    partition_key = file_name, ledger source_kind 'csv', source_file = 'uploads/<file_name>'.
    Idempotent, in ONE transaction: the partition's rows are replaced by the upload's outcome.
    """
    region = settings.default_region

    def cached(kind: str, raw_values: list[str]) -> pl.DataFrame:
        # Only a read: a re-ingested contact list is not parsed again (the cache's purpose).
        return cached_values(con, kind, raw_values, region)

    with transaction(con):
        judged = judge_upload_file(data_dir, file_name, settings, cached)
        return store_upload(con, judged)
