"""Staging a day's log files into a DuckDB temp table of the raw lines worth parsing.

Fast path: DuckDB reads every file of the day in one statement, one UNION ALL branch per file so
the files are read in parallel, each as a one-column CSV that no character can split or quote
(delimiter \\x01, no quote, no escape, LF only). `row_number() OVER ()` streams over each branch
and numbers its lines exactly. Only the lines that can matter, or must be rejected
(`_log_keep`), are kept with their text; the last line of each file is kept without its text so
that its number gives the file's line count. A clean file is never read by Python.

Slow path: a file DuckDB refuses (a corrupt or truncated gzip, a line that is not UTF-8, a CR,
a raw \\x01, a line longer than its limit) is read by Python (log_read.py), exactly numbered and
flagged line by line, and staged through the same `_log_keep` filter: both paths stage the same
rows for any file both can read. A file neither can read to its end is left out whole and
reported (CORRUPT_FILE).
"""

from __future__ import annotations

import hashlib
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from subscription_pipeline.errors import FileError
from subscription_pipeline.ingest import log_sql
from subscription_pipeline.ingest.log_layout import is_gzip
from subscription_pipeline.ingest.log_read import CorruptLogError, read_log_lines

STAGE_TABLE = "_log_stage"
# Files per statement: enough branches to keep every thread busy, a bounded statement to plan.
FILES_PER_STATEMENT = 64

# One file's numbered lines, as DuckDB reads them; parameters: the path, its compression.
# The filter runs before the numbering: the window then holds the text of the kept lines only
# (about 3% of a realistic day), not of every line (CPU of the read -5%, measured on 8 files).
_FAST_BRANCH = r"""
SELECT ?::VARCHAR AS source_file, line_number, line, false AS bad_utf8, kept
FROM (
    SELECT
        row_number() OVER () AS line_number,
        lead(true, 1, false) OVER () AS has_next,
        line,
        kept
    FROM (
        SELECT CASE WHEN kept THEN line END AS line, kept
        FROM (
            SELECT line, _log_keep(line) AS kept
            FROM (
                SELECT coalesce(line, '') AS line
                FROM read_csv(
                    ?, columns = {'line': 'VARCHAR'}, delim = E'\x01', quote = '', escape = '',
                    header = false, auto_detect = false, new_line = '\n', strict_mode = true,
                    compression = ?
                )
            )
        )
    )
)
WHERE kept OR NOT has_next
"""

# The slow path's batches go through the same filter; then the file's last line is staged
# without its text if it was not kept, as the fast path does. `{table}`: the stage table's name,
# chosen by this package (never input).
_SLOW_INSERT = """
INSERT INTO {table}
SELECT ?::VARCHAR, line_number, line, bad_utf8, true
FROM _log_batch
WHERE bad_utf8 OR _log_keep(line)
"""
_SLOW_LAST_LINE = """
INSERT INTO {table}
SELECT ?::VARCHAR, ?, NULL, false, false
WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE source_file = ? AND line_number = ?)
"""


@dataclass(frozen=True)
class StagedFile:
    source_file: str  # relative to the data directory
    size_bytes: int | None = None
    content_sha256: str | None = None
    error_code: FileError | None = None
    error_message: str | None = None
    read_by: str | None = None  # 'duckdb' | 'python': which path staged it


@dataclass(frozen=True)
class PrestagedDay:
    """A received day's files, staged in advance into `table` (log_prefetch.py)."""

    table: str
    files: list[StagedFile]


def create_stage(con: duckdb.DuckDBPyConnection, table: str = STAGE_TABLE) -> None:
    """An empty stage table (a temp table by default) and the filter macro on `con`."""
    kind = "TEMP TABLE" if table == STAGE_TABLE else "TABLE"
    con.execute(
        f"CREATE OR REPLACE {kind} {table} ("
        "source_file VARCHAR, line_number BIGINT, line VARCHAR, bad_utf8 BOOLEAN, kept BOOLEAN)"
    )
    log_sql.run(con, "keep_macro")


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _fast_params(data_dir: Path, source_file: str) -> list[str]:
    path = Path(data_dir) / source_file
    return [source_file, str(path), "gzip" if is_gzip(source_file) else "none"]


def _stage_fast(
    con: duckdb.DuckDBPyConnection, data_dir: Path, files: list[str], table: str
) -> list[str]:
    """Stage what DuckDB can read, all files in one parallel statement; return the others.

    A failed statement stages nothing. The file its error names is set aside and the rest tried
    again; an error that names none of them is narrowed down file by file.
    """
    pending, refused = list(files), []
    while pending:
        sql = f"INSERT INTO {table} " + " UNION ALL ".join([_FAST_BRANCH] * len(pending))
        params = [value for f in pending for value in _fast_params(data_dir, f)]
        try:
            con.execute(sql, params)
            return refused
        except duckdb.Error as exc:
            named = [f for f in pending if str(Path(data_dir) / f) in str(exc)]
            if len(named) != 1 or len(pending) == 1:
                break
            refused.append(named[0])
            pending.remove(named[0])
    if len(pending) == 1:
        return [*refused, *pending]
    for source_file in pending:
        try:
            con.execute(f"INSERT INTO {table} {_FAST_BRANCH}", _fast_params(data_dir, source_file))
        except duckdb.Error:
            refused.append(source_file)
    return refused


def _stage_slow(con: duckdb.DuckDBPyConnection, path: Path, source_file: str, table: str) -> None:
    """Python reads the file (raises CorruptLogError); nothing of it stays staged on failure."""
    last_line = 0
    try:
        for batch in read_log_lines(path):
            con.register("_log_batch", batch)
            try:
                con.execute(_SLOW_INSERT.format(table=table), [source_file])
            finally:
                con.unregister("_log_batch")
            last_line += batch.num_rows
        if last_line:
            con.execute(
                _SLOW_LAST_LINE.format(table=table),
                [source_file, last_line, source_file, last_line],
            )
    except CorruptLogError:
        con.execute(f"DELETE FROM {table} WHERE source_file = ?", [source_file])
        raise


def _regular(data_dir: Path, source_file: str) -> StagedFile:
    """The file's size if it is a regular file, else why it is rejected."""
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
    return StagedFile(source_file, size_bytes=info.st_size)


def stage_files(
    con: duckdb.DuckDBPyConnection,
    data_dir: Path,
    files: list[str],
    *,
    fast: bool = True,
    table: str = STAGE_TABLE,
) -> list[StagedFile]:
    """Stage every readable file of `files` into `table` (made by create_stage); one StagedFile
    per file, in the same order.

    `fast=False` reads every file with Python (the slow path), for tests that compare paths.
    """
    data_dir = Path(data_dir)
    checked = {f: _regular(data_dir, f) for f in files}
    readable = [f for f, s in checked.items() if s.error_code is None]
    refused = readable
    if fast:
        refused = [
            f
            for start in range(0, len(readable), FILES_PER_STATEMENT)
            for f in _stage_fast(
                con, data_dir, readable[start : start + FILES_PER_STATEMENT], table
            )
        ]
    result: dict[str, StagedFile] = {}
    for source_file in readable:
        size = checked[source_file].size_bytes
        if source_file not in refused:
            result[source_file] = StagedFile(source_file, size, read_by="duckdb")
            continue
        try:
            _stage_slow(con, data_dir / source_file, source_file, table)
        except CorruptLogError as exc:
            result[source_file] = StagedFile(
                source_file,
                size_bytes=size,
                error_code=FileError.CORRUPT_FILE,
                error_message=f"{source_file} cannot be read to its end: {exc}",
            )
            continue
        result[source_file] = StagedFile(source_file, size, read_by="python")
    ok = [f for f, s in result.items() if s.error_code is None]
    # hashlib releases the GIL on large buffers: the digests run side by side.
    with ThreadPoolExecutor(max_workers=max(1, min(len(ok), _usable_cores()))) as pool:
        digests = dict(zip(ok, pool.map(lambda f: _sha256(data_dir / f), ok), strict=True))
    return [
        checked[f]
        if f not in result
        else StagedFile(
            f,
            result[f].size_bytes,
            digests.get(f),
            result[f].error_code,
            result[f].error_message,
            result[f].read_by,
        )
        for f in files
    ]
