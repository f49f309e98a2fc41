"""Reading one upload's bytes into a header and a frame of raw string values (SPEC 2.1).

DuckDB's CSV reader reads a file in bulk (`csv_fast`); Python's `csv` module reads only the
files it refuses (`csv_fallback`), and decides every file-level error.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from subscription_pipeline.errors import FileError
from subscription_pipeline.ingest.csv_errors import UploadRejected
from subscription_pipeline.ingest.csv_fallback import check_row_count, read_records
from subscription_pipeline.ingest.csv_fast import read_fast

# The longest CSV cell read, in characters. Far above any valid key or status (an email has at
# most 254); a consent text longer than this is not one a person read.
MAX_VALUE_CHARS = 4096


@dataclass(frozen=True)
class RawUpload:
    """`rows` has `row_number` (1-based data row) and one String column `c<i>` per header field."""

    header: list[str]
    rows: pl.DataFrame


def field_column(position: int) -> str:
    """The frame column that holds the header field at `position` (names may repeat in a file)."""
    return f"c{position}"


def read_upload_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, opened without following a symbolic link; never more than max_bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if os.path.lexists(path):  # a symlink (ELOOP), a socket, ...: not a regular file
            raise UploadRejected(
                FileError.NOT_A_REGULAR_FILE, f"not a regular file, not read: {exc.strerror}"
            ) from exc
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UploadRejected(FileError.NOT_A_REGULAR_FILE, "not a regular file, not read")
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > max_bytes:
            raise UploadRejected(
                FileError.FILE_TOO_LARGE, f"{info.st_size} bytes, over the limit of {max_bytes}"
            )
        data = handle.read(info.st_size + 1)
        if len(data) > info.st_size:  # it grew since fstat: read on, up to just over the limit
            data += handle.read(max_bytes + 1 - len(data))
    if len(data) > max_bytes:
        raise UploadRejected(FileError.FILE_TOO_LARGE, f"over the limit of {max_bytes} bytes")
    return data


def parse_upload(data: bytes, max_rows: int) -> RawUpload:
    """Header and data rows of an upload, or UploadRejected for a file-level defect.

    The bulk reader answers when it can; the reference reader reads the rest and decides every
    file-level error, so both give the same rows for a file the bulk reader accepts.
    """
    fast = read_fast(data)
    if fast is None:
        header, records = read_records(data, max_rows)
    else:
        header, records = fast
        check_row_count(records.height, max_rows)
    frame = records.rename({name: field_column(i) for i, name in enumerate(records.columns)})
    frame = frame.with_row_index("row_number", offset=1)
    return RawUpload(header=header, rows=frame.with_columns(pl.col("row_number").cast(pl.Int64)))
