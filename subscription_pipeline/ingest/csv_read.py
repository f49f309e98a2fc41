"""Reading one upload's bytes into a header and a frame of raw string values (SPEC 2.1).

Parsing uses the standard library's C `csv` reader rather than `polars.read_csv`: polars 2.1
splits quoted fields that contain a newline into two rows and silently pads short rows with
blanks, so it could neither keep quoted newlines nor report `CSV_PARSE_ERROR`. Completely empty
lines are skipped (they hold no data row); every other record must have the header's width.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from subscription_pipeline.errors import FileError
from subscription_pipeline.ingest.csv_errors import UploadRejected


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


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")  # strips a leading BOM, if any
    except UnicodeDecodeError as exc:
        raise UploadRejected(
            FileError.INVALID_ENCODING, f"not UTF-8: invalid byte at offset {exc.start}"
        ) from exc


def _records(text: str) -> tuple[Any, Iterator[list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    # Empty lines come out as []: they are no records.
    return reader, itertools.filterfalse(lambda record: not record, reader)


def _line_of_record(text: str, index: int) -> int:
    """The physical line where record `index` (0 = header) ends; only called on the error path."""
    reader, records = _records(text)
    next(itertools.islice(records, index, None))
    return reader.line_num


def parse_upload(data: bytes, max_rows: int) -> RawUpload:
    """Header and data rows of an upload, or UploadRejected for a file-level defect."""
    text = _decode(data)
    reader, records = _records(text)
    try:
        header = next(records, None)
        if header is None:
            raise UploadRejected(FileError.EMPTY_FILE, "the file is empty")
        rows = list(itertools.islice(records, max_rows + 1))
        extra = sum(1 for _ in records)  # counted, not kept: the upload is rejected anyway
    except csv.Error as exc:
        raise UploadRejected(FileError.CSV_PARSE_ERROR, f"line {reader.line_num}: {exc}") from exc
    rows_in = len(rows) + extra
    if not rows:
        raise UploadRejected(FileError.EMPTY_FILE, "the file has a header but no data rows")
    if rows_in > max_rows:
        raise UploadRejected(
            FileError.TOO_MANY_ROWS, f"{rows_in} data rows, over the limit of {max_rows}", rows_in
        )
    widths = pl.Series("width", list(map(len, rows)), dtype=pl.Int64)
    ragged = (widths != len(header)).arg_true()
    if ragged.len():
        index = ragged[0]
        raise UploadRejected(
            FileError.CSV_PARSE_ERROR,
            f"line {_line_of_record(text, index + 1)} (data row {index + 1}) has "
            f"{widths[index]} fields, the header has {len(header)}",
            rows_in,
        )
    columns = zip(*rows, strict=True)
    frame = pl.DataFrame(
        {field_column(i): pl.Series(values, dtype=pl.String) for i, values in enumerate(columns)}
    ).with_row_index("row_number", offset=1)
    return RawUpload(header=header, rows=frame.with_columns(pl.col("row_number").cast(pl.Int64)))
