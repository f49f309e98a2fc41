"""Reading one log file into Arrow batches of (line_number, line, bad_utf8), memory bounded.

This is the slow path (log_stage.py): only a file DuckDB refuses is read here.

Decompression is Python's `gzip`: a truncated or corrupt stream raises, and the caller rejects
the whole file (CORRUPT_FILE). Lines are split on LF (a trailing CR is dropped) and numbered
from 1, exactly as `wc -l`/an editor would number them. A line that is not valid UTF-8 is kept,
decoded with replacement characters and flagged, so that only that line is rejected
(INVALID_JSON) and its neighbours still count.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from subscription_pipeline.ingest.log_layout import is_gzip

# Decompressed bytes handled at once: bounds memory whatever the file size.
CHUNK_BYTES = 32 * 1024 * 1024

LINES_SCHEMA = pa.schema(
    [("line_number", pa.int64()), ("line", pa.string()), ("bad_utf8", pa.bool_())]
)


class CorruptLogError(Exception):
    """The file cannot be read to its end (truncated gzip, bad CRC, unreadable)."""


def _split_lines(blob: bytes) -> tuple[pa.Array, pa.Array]:
    """The lines of a block (no trailing LF) and which of them are not valid UTF-8."""
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        # Rare: only the offending lines are decoded one by one.
        lines, bad = [], []
        for piece in blob.split(b"\n"):
            try:
                lines.append(piece.decode("utf-8"))
                bad.append(False)
            except UnicodeDecodeError:
                lines.append(piece.decode("utf-8", errors="replace"))
                bad.append(True)
        return pa.array(lines, pa.string()), pa.array(bad, pa.bool_())
    # Split in Arrow (C++), not in a Python loop over lines.
    lines = pc.list_flatten(pc.split_pattern(pa.array([text], pa.large_string()), "\n"))
    lines = lines.cast(pa.string())
    return lines, pa.nulls(len(lines), pa.bool_()).fill_null(False)


def _batch(blob: bytes, first_line: int) -> pa.Table:
    lines, bad = _split_lines(blob)
    lines = pc.utf8_rtrim(lines, characters="\r")
    numbers = pl.int_range(first_line, first_line + len(lines), eager=True, dtype=pl.Int64)
    return pa.Table.from_arrays([numbers.to_arrow(), lines, bad], schema=LINES_SCHEMA)


def read_log_lines(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[pa.Table]:
    """Yield the file's lines in batches; raise CorruptLogError if it cannot be read whole."""
    path = Path(path)
    next_line = 1
    carry = b""
    try:
        # O_NOFOLLOW: a link swapped in after the caller's check is still never followed.
        raw = os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb")
        handle = gzip.GzipFile(fileobj=raw, mode="rb") if is_gzip(path.name) else raw
        with raw, handle:
            while block := handle.read(chunk_bytes):
                data = carry + block
                cut = data.rfind(b"\n")
                if cut < 0:
                    carry = data
                    continue
                carry = data[cut + 1 :]
                if next_line == 1 and data.startswith(b"\xef\xbb\xbf"):
                    data = data[3:]
                    cut -= 3
                batch = _batch(data[:cut], next_line)
                next_line += batch.num_rows
                yield batch
            if carry:
                if next_line == 1 and carry.startswith(b"\xef\xbb\xbf"):
                    carry = carry[3:]
                yield _batch(carry, next_line)
    except (OSError, EOFError, zlib.error) as exc:
        raise CorruptLogError(f"{type(exc).__name__}: {exc}") from exc
