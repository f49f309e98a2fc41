"""The bulk reader of an upload: DuckDB's CSV reader, strict, or no answer at all.

It answers only when its records are exactly those of the Python reader (`csv_fallback`), so
that every file-level and row-level outcome stays the same; anything else returns None and the
caller falls back. It refuses:
- a file that is not UTF-8, or whose first record the Python reader cannot parse;
- a one-column file (DuckDB reads an empty line there as a row, Python skips it);
- a lone carriage return (old Mac line ends), which DuckDB can mix up with CRLF;
- a record read differently, found by counting bytes that Python's reader always keeps: every
  comma is a separator or inside a value, every space inside a value. DuckDB reads `a,b,` for
  two columns as `a`, `b` (Python: three fields, a ragged row), trims ` "x"` to `x` (Python
  keeps ` "x"`) and `"x" ` to `x` (Python refuses it);
- whatever DuckDB's strict mode refuses: a record of another width (ragged rows, lines of only
  whitespace), a quote left open or followed by text, mixed line ends, a line over 2 MB.
Polars is not used: it reads an empty line as a row of blanks and pads short rows silently.
"""

from __future__ import annotations

import csv
import io
import os

import duckdb
import polars as pl

from subscription_pipeline.ingest.csv_fallback import header_record

# Bytes that Python's reader always keeps in a value or reads as a separator: a file holds as
# many as its records account for, unless DuckDB read it differently.
_SEPARATOR = ","
_SPACE = " "


# One private in-memory database per process (opening one costs ~50 ms), a cursor per read.
# Keyed by process id: a forked child must never use its parent's DuckDB threads.
_ENGINES: dict[int, duckdb.DuckDBPyConnection] = {}


def _engine() -> duckdb.DuckDBPyConnection:
    pid = os.getpid()
    if pid not in _ENGINES:
        _ENGINES[pid] = duckdb.connect()
    return _ENGINES[pid]


def _header(data: bytes) -> list[str] | None:
    """The first record as the Python reader sees it, reading only the start of the file."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    try:
        return header_record(text)
    except (UnicodeDecodeError, csv.Error):
        return None


def read_fast(data: bytes) -> tuple[list[str], pl.DataFrame] | None:
    """(header, the records after it as String columns in header order, blanks ''), or None."""
    try:
        data.decode("utf-8")  # DuckDB's own check is not Python's: only Python's counts
    except UnicodeDecodeError:
        return None
    if data.count(b"\r") != data.count(b"\r\n"):
        return None  # a lone CR: DuckDB may take the line end for CRLF and drop a space after it
    header = _header(data)
    if header is None or len(header) < 2:
        return None
    columns = {f"f{i}": "VARCHAR" for i in range(len(header))}
    con = _engine().cursor()  # reading a file needs no warehouse
    try:
        table = con.read_csv(
            io.BytesIO(data),
            header=False,
            sep=",",
            quotechar='"',
            escapechar='"',
            comment="",
            skiprows=0,
            auto_detect=False,
            columns=columns,
            strict_mode=True,
            null_padding=False,
            ignore_errors=False,
            encoding="utf-8",
            compression="none",
        ).arrow()
    except duckdb.Error:
        return None
    finally:
        con.close()
    frame = pl.DataFrame(pl.from_arrow(table)).with_columns(pl.all().fill_null(""))
    if frame.height == 0 or list(frame.row(0)) != header:
        return None  # the two readers disagree on the header: trust neither the bulk one
    separators = frame.height * (frame.width - 1)
    if data.count(b",") != separators + _inside(frame, _SEPARATOR):
        return None  # DuckDB dropped a trailing empty field: a record was wider
    if data.count(b" ") != _inside(frame, _SPACE):
        return None  # DuckDB trimmed spaces around quotes
    return header, frame.slice(1)


def _inside(frame: pl.DataFrame, char: str) -> int:
    """How often `char` occurs in the values of `frame`."""
    counts = frame.select(pl.all().str.count_matches(char, literal=True).sum())
    return int(counts.sum_horizontal().item())
