"""Staging a day's log files, one at a time, into a DuckDB temp table of raw lines.

Python only decompresses and splits; DuckDB holds the lines (spilling to disk past its memory
limit), so memory stays bounded by one read chunk whatever the size of the day. A file that is
not a regular file, or cannot be read to its end, is left out whole and reported.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import duckdb

from subscription_pipeline.errors import FileError
from subscription_pipeline.ingest.log_read import CorruptLogError, read_log_lines

STAGE_TABLE = "_log_stage"


@dataclass(frozen=True)
class StagedFile:
    source_file: str  # relative to the data directory
    size_bytes: int | None = None
    content_sha256: str | None = None
    error_code: FileError | None = None
    error_message: str | None = None


def create_stage(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {STAGE_TABLE} ("
        "source_file VARCHAR, line_number BIGINT, line VARCHAR, bad_utf8 BOOLEAN)"
    )


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def stage_file(con: duckdb.DuckDBPyConnection, data_dir: Path, source_file: str) -> StagedFile:
    """Append one file's lines to the stage; a rejected file leaves no line behind."""
    path = Path(data_dir) / source_file
    try:
        info = os.lstat(path)
    except OSError as exc:
        return StagedFile(source_file, error_code=FileError.CORRUPT_FILE, error_message=str(exc))
    if not stat.S_ISREG(info.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
        return StagedFile(
            source_file,
            error_code=FileError.NOT_A_REGULAR_FILE,
            error_message=f"{source_file} is {kind}; it is not read or followed",
        )
    try:
        for batch in read_log_lines(path):
            con.register("_log_batch", batch)
            try:
                con.execute(
                    f"INSERT INTO {STAGE_TABLE} "
                    "SELECT ?, line_number, line, bad_utf8 FROM _log_batch",
                    [source_file],
                )
            finally:
                con.unregister("_log_batch")
        digest = _sha256(path)
    except CorruptLogError as exc:
        con.execute(f"DELETE FROM {STAGE_TABLE} WHERE source_file = ?", [source_file])
        return StagedFile(
            source_file,
            size_bytes=info.st_size,
            error_code=FileError.CORRUPT_FILE,
            error_message=f"{source_file} cannot be read to its end: {exc}",
        )
    return StagedFile(source_file, size_bytes=info.st_size, content_sha256=digest)
