"""The reference reader of an upload: Python's C `csv` module, record by record (SPEC 2.1).

It reads every file the bulk reader (`csv_fast`) refuses, and it decides every file-level
error. Rules:
- an empty line, or a line of only whitespace, is no record (SPEC 2.1: a blank line);
- every other record must have the header's width (else CSV_PARSE_ERROR, naming the line);
- a field may be as long as the file: no single cell rejects an upload (its vector judges it).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from typing import IO, Any

import polars as pl

from subscription_pipeline.errors import FileError
from subscription_pipeline.ingest.csv_errors import UploadRejected


def is_blank(record: list[str]) -> bool:
    """An empty line, or one field of only whitespace (`   `, `""`): a blank line, no record."""
    return not record or (len(record) == 1 and not record[0].strip())


def _reader(text: IO[str], size: int) -> Any:
    # The field limit is process-wide; it only ever grows, to the size of the text at hand.
    csv.field_size_limit(max(csv.field_size_limit(), size + 1))
    return csv.reader(text, strict=True)


def _records(reader: Iterable[list[str]]) -> Iterator[list[str]]:
    return itertools.filterfalse(is_blank, reader)


def header_record(text: IO[str], size: int = 1 << 20) -> list[str] | None:
    """The first record of a text stream (None when it has none); csv.Error if it is broken."""
    return next(_records(_reader(text, size)), None)


def _line_of_record(text: str, index: int) -> int:
    """The physical line where record `index` (0 = header) ends; only called on the error path."""
    reader = _reader(io.StringIO(text, newline=""), len(text))
    next(itertools.islice(_records(reader), index, None))
    return reader.line_num


def check_row_count(rows_in: int, max_rows: int) -> None:
    """EMPTY_FILE without data rows, TOO_MANY_ROWS over the limit."""
    if not rows_in:
        raise UploadRejected(FileError.EMPTY_FILE, "the file has a header but no data rows")
    if rows_in > max_rows:
        raise UploadRejected(
            FileError.TOO_MANY_ROWS, f"{rows_in} data rows, over the limit of {max_rows}", rows_in
        )


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")  # strips a leading BOM, if any
    except UnicodeDecodeError as exc:
        raise UploadRejected(
            FileError.INVALID_ENCODING, f"not UTF-8: invalid byte at offset {exc.start}"
        ) from exc


def read_records(data: bytes, max_rows: int) -> tuple[list[str], pl.DataFrame]:
    """(header, data records as String columns in header order), or UploadRejected."""
    text = _decode(data)
    reader = _reader(io.StringIO(text, newline=""), len(text))
    records = _records(reader)
    try:
        header = next(records, None)
        if header is None:
            raise UploadRejected(FileError.EMPTY_FILE, "the file is empty")
        rows = list(itertools.islice(records, max_rows + 1))
        extra = sum(1 for _ in records)  # counted, not kept: the upload is rejected anyway
    except csv.Error as exc:
        raise UploadRejected(FileError.CSV_PARSE_ERROR, f"line {reader.line_num}: {exc}") from exc
    check_row_count(len(rows) + extra, max_rows)
    widths = pl.Series("width", list(map(len, rows)), dtype=pl.Int64)
    ragged = (widths != len(header)).arg_true()
    if ragged.len():
        index = ragged[0]
        raise UploadRejected(
            FileError.CSV_PARSE_ERROR,
            f"line {_line_of_record(text, index + 1)} (data row {index + 1}) has "
            f"{widths[index]} fields, the header has {len(header)}",
            len(rows),
        )
    columns = zip(*rows, strict=True)
    frame = pl.DataFrame(
        {f"f{i}": pl.Series(values, dtype=pl.String) for i, values in enumerate(columns)}
    )
    return header, frame
