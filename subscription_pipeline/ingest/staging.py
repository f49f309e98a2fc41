"""The staging area: each partition's outcome as Parquet files, written without the warehouse.

A partition (a received day of logs, a CSV upload, a day of the API inbox) is staged under
DATA_DIR/staging/<source kind>/<partition>/, one `<table>.parquet` per table it writes. The
folder is built beside its place (a `.tmp-*` folder), then renamed into it; a folder already
there is renamed away first. So a crashed stage leaves nothing half-done, a re-run replaces the
partition's files whole, and a reader only ever sees complete folders (names never start with
'.'). Any number of partitions stage at once, on any worker that sees the data directory.

What reads them back is the loader (`staged_load.load_staged`), the warehouse's one writer.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, unquote

import polars as pl

from subscription_pipeline.ingest.store import LedgerEntry

STAGING_DIR = "staging"
T = TypeVar("T")


def staging_root(data_dir: Path, kind: str) -> Path:
    return Path(data_dir) / STAGING_DIR / kind


def _folder_name(name: str) -> str:
    # A file name may hold any character but '/'; a leading '.' would read as a temporary.
    encoded = quote(name, safe="")
    return "%2E" + encoded[1:] if encoded.startswith(".") else encoded


def staged_folder(data_dir: Path, kind: str, name: str) -> Path:
    return staging_root(data_dir, kind) / _folder_name(name)


def staged_partitions(data_dir: Path, kind: str) -> list[str]:
    """The partitions of `kind` staged and not yet loaded (complete folders only)."""
    root = staging_root(data_dir, kind)
    if not root.is_dir():
        return []
    return sorted(
        unquote(p.name) for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
    )


def staged_files(data_dir: Path, kind: str, names: Iterable[str], table: str) -> list[str]:
    return [str(staged_folder(data_dir, kind, name) / f"{table}.parquet") for name in names]


def stage_partition(data_dir: Path, kind: str, name: str, write: Callable[[Path], T]) -> T:
    """Run `write(folder)` on a fresh temporary folder, then put that folder in the partition's
    place by renames only; on any error the temporary folder is removed and the old one kept."""
    root = staging_root(data_dir, kind)
    root.mkdir(parents=True, exist_ok=True)
    scratch = root / f".tmp-{uuid.uuid4().hex}"
    scratch.mkdir()
    try:
        result = write(scratch)
        _replace_dir(scratch, staged_folder(data_dir, kind, name))
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return result


def write_frames(folder: Path, frames: Mapping[str, pl.DataFrame]) -> None:
    for table, frame in frames.items():
        frame.write_parquet(folder / f"{table}.parquet")


def read_frames(data_dir: Path, kind: str, name: str, tables: Iterable[str]) -> dict:
    folder = staged_folder(data_dir, kind, name)
    return {table: pl.read_parquet(folder / f"{table}.parquet") for table in tables}


def remove_staged(data_dir: Path, kind: str, names: Iterable[str]) -> None:
    for name in names:
        shutil.rmtree(staged_folder(data_dir, kind, name), ignore_errors=True)


def _replace_dir(new: Path, target: Path) -> None:
    """Put `new` at `target` by renames only, so a reader sees the old folder or the new one."""
    old = target.with_name(f".old-{uuid.uuid4().hex}")
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


_LEDGER_SCHEMA = {
    "source_file": pl.String,
    "source_kind": pl.String,
    "partition_key": pl.String,
    "status": pl.String,
    "rows_in": pl.Int64,
    "applied": pl.Int64,
    "ignored": pl.Int64,
    "duplicate": pl.Int64,
    "rejected": pl.Int64,
    "warnings": pl.Int64,
    "uploaded_at": pl.Datetime("us"),
    "content_sha256": pl.String,
    "size_bytes": pl.Int64,
    "error_code": pl.String,
    "error_message": pl.String,
    "suppressed": pl.Int64,
}


def ledger_frame(
    entry: LedgerEntry, extra: Mapping[str, tuple[object, pl.DataType]]
) -> pl.DataFrame:
    """The partition's ledger row as the reader judged it (before the loader's suppression),
    with `extra` columns (name -> (value, dtype)) the loader needs and the ledger does not hold."""
    row = {name: [getattr(entry, name)] for name in _LEDGER_SCHEMA}
    schema = dict(_LEDGER_SCHEMA)
    for name, (value, dtype) in extra.items():
        row[name], schema[name] = [value], dtype
    return pl.DataFrame(row, schema=schema)


def read_ledger(frame: pl.DataFrame) -> tuple[LedgerEntry, dict[str, object]]:
    """The ledger entry of a staged ledger row, and its extra columns."""
    row = frame.row(0, named=True)
    entry = LedgerEntry(**{name: row.pop(name) for name in _LEDGER_SCHEMA})
    return entry, row
