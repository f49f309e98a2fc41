"""One CSV upload judged into its outcome (SPEC 2.1): a function of the file, no warehouse.

The outcome is what the partition stores: observations, rejections, warnings and its ledger
row. `judge_upload_file` parses the keys the upload needs itself (`normalize.parse_frame`, no
cache) and returns them with the outcome, for the cache. Storing it is `csv_upload`'s job, the
only code that holds a connection, directly or from the staging area (`staged_uploads`).
"""

from __future__ import annotations

import hashlib
import stat
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import polars as pl

from subscription_pipeline.ingest.csv_errors import UploadRejected
from subscription_pipeline.ingest.csv_evidence import evidence
from subscription_pipeline.ingest.csv_header import classify_header
from subscription_pipeline.ingest.csv_read import parse_upload, read_upload_bytes
from subscription_pipeline.ingest.csv_vectors import Lookup, judge_rows
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.ingest.store import LedgerEntry
from subscription_pipeline.ingest.upload_files import UPLOADS_DIR
from subscription_pipeline.ingest.upload_time import uploaded_at_from_name
from subscription_pipeline.normalize import parse_frame

SOURCE_KIND = "csv"

REJECTION_SCHEMA = {
    "row_number": pl.Int64,
    "error_code": pl.String,
    "error_message": pl.String,
    "raw_record": pl.String,
}
WARNING_SCHEMA = {"row_number": pl.Int64, "warning_code": pl.String, "warning_message": pl.String}
OBSERVATION_SCHEMA = {
    "row_number": pl.Int64,
    "channel": pl.String,
    "contact": pl.String,
    "subscription_group": pl.String,
    "status": pl.String,
    "user_id": pl.String,
    "anonymous_id": pl.String,
    "evidence": pl.String,
}


def upload_source_file(file_name: str) -> str:
    """The upload's path relative to the data directory, as the ledger and rejections name it."""
    return f"{UPLOADS_DIR}/{file_name}"


@dataclass(frozen=True)
class UploadOutcome:
    """What one upload stores; `entry` balances: rows_in == applied + rejected."""

    entry: LedgerEntry
    observations: pl.DataFrame  # OBSERVATION_SCHEMA; effective time = entry.uploaded_at
    rejections: pl.DataFrame  # REJECTION_SCHEMA; row_number NULL for the whole file
    warnings: pl.DataFrame  # WARNING_SCHEMA; a CSV upload has no repairs today


def _rejected_file(entry: LedgerEntry, error: UploadRejected) -> UploadOutcome:
    rejection = pl.DataFrame(
        {"row_number": [None], "error_code": [error.code.value], "error_message": [error.message]},
        schema={
            name: REJECTION_SCHEMA[name] for name in ("row_number", "error_code", "error_message")
        },
    ).with_columns(raw_record=pl.lit(None, dtype=pl.String))
    entry = replace(
        entry,
        status="rejected",
        rows_in=error.rows_in,
        rejected=error.rows_in,
        error_code=error.code.value,
        error_message=error.message,
    )
    return UploadOutcome(
        entry,
        pl.DataFrame(schema=OBSERVATION_SCHEMA),
        rejection,
        pl.DataFrame(schema=WARNING_SCHEMA),
    )


def judge_upload(
    path: Path,
    file_name: str,
    uploaded_at: datetime | None,
    settings: IngestSettings,
    lookup: Lookup,
) -> UploadOutcome:
    """The outcome of the upload at `path`, named `file_name`, uploaded at `uploaded_at`.

    A file-level defect rejects the whole upload: ledger status 'rejected', one rejection with
    row_number NULL, nothing observed. A vanished file raises FileNotFoundError.
    """
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
        uploaded_at=uploaded_at,
    )
    info = path.lstat()
    if stat.S_ISREG(info.st_mode):
        entry = replace(entry, size_bytes=info.st_size)
    rows_in = 0
    try:
        data = read_upload_bytes(path, settings.max_bytes)
        sha256 = hashlib.sha256(data).hexdigest()
        entry = replace(entry, content_sha256=sha256, size_bytes=len(data))
        upload = parse_upload(data, settings.max_rows)
        rows_in = upload.rows.height
        layout = classify_header(upload.header)
    except UploadRejected as error:
        error.rows_in = error.rows_in or rows_in
        return _rejected_file(entry, error)
    observations, rejected = judge_rows(
        upload.rows, layout, lookup, evidence(file_name, sha256, layout.consent)
    )
    applied = observations.get_column("row_number").n_unique()
    return UploadOutcome(
        replace(entry, rows_in=rows_in, applied=applied, rejected=rows_in - applied),
        observations,
        rejected.select(list(REJECTION_SCHEMA)),
        pl.DataFrame(schema=WARNING_SCHEMA),
    )


@dataclass(frozen=True)
class JudgedUpload:
    """An upload's outcome and what storing it needs besides: the file's modification time
    (None when it is not a regular file; the upload's time is decided when it is stored) and
    the keys parsed for it, as rows of the cache `normalized_identifiers`."""

    outcome: UploadOutcome
    mtime: float | None
    keys: pl.DataFrame


def upload_mtime(path: Path) -> float | None:
    """The file's modification time; None when it is not a regular file (never registered)."""
    info = path.lstat()  # a vanished file is the caller's problem: FileNotFoundError
    return info.st_mtime if stat.S_ISREG(info.st_mode) else None


def judge_upload_file(
    data_dir: Path, file_name: str, settings: IngestSettings, cached: Lookup | None = None
) -> JudgedUpload:
    """The upload `file_name` of `data_dir` judged: its outcome carries the time its name states
    (the stored time is `csv_upload.register_time`'s). Keys are taken from `cached` (a read of a
    normalisation cache: raw -> normalized, error_message of the values it holds) when given,
    the others parsed here and returned in `keys`."""
    path = Path(data_dir) / UPLOADS_DIR / file_name
    mtime = upload_mtime(path)
    parsed: list[pl.DataFrame] = []

    def lookup(kind: str, raw_values: list[str]) -> pl.DataFrame:
        known = cached(kind, raw_values) if cached else None
        if known is not None and known.height:
            held = set(known.get_column("raw").to_list())
            raw_values = [value for value in raw_values if value not in held]
        frame = parse_frame(kind, raw_values, settings.default_region)
        parsed.append(frame)
        fresh = frame.select("raw", "normalized", "error_message")
        return pl.concat([known, fresh]) if known is not None else fresh

    outcome = judge_upload(path, file_name, uploaded_at_from_name(file_name), settings, lookup)
    keys = pl.concat(parsed) if parsed else parse_frame("email", [])
    return JudgedUpload(outcome, mtime, keys)
