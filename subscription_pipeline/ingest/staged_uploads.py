"""Staged CSV uploads: an upload judged into Parquet files, then the loader stores them.

`stage_upload` needs no warehouse: the upload is judged (`csv_outcome.judge_upload`, a function
of the file) with keys parsed for it alone (`normalize.parse_frame`, no cache), and its outcome
is written into the staging area (DATA_DIR/staging/csv/<file name>/, atomic, a re-run replaces
it): observations, rejections, ingest_warnings, the ledger row as judged (with the file's
modification time, for the upload time), and the parsed keys (normalized_identifiers).

`load_uploads` runs inside the loader's one transaction and does for each upload what a direct
ingest does after judging: registers its time (the first time seen wins, `upload_times`), adds
the parsed keys the cache lacks, then `csv_upload.store_outcome` (the partition's rows replaced,
suppressions honoured, the ledger row written). So both paths store through the same code.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import polars as pl

from subscription_pipeline.ingest.csv_outcome import SOURCE_KIND, UploadOutcome, judge_upload
from subscription_pipeline.ingest.csv_upload import register_time, store_outcome, upload_mtime
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.ingest.staging import (
    ledger_frame,
    read_frames,
    read_ledger,
    stage_partition,
    staged_partitions,
    write_frames,
)
from subscription_pipeline.ingest.store import LedgerEntry
from subscription_pipeline.ingest.upload_files import UPLOADS_DIR
from subscription_pipeline.ingest.upload_time import uploaded_at_from_name
from subscription_pipeline.normalize import parse_frame

TABLES = ("observations", "rejections", "ingest_warnings", "input_ledger", "normalized_identifiers")
_CACHE_COLUMNS = ("kind", "region", "raw", "normalized", "error_message")


def staged_uploads(data_dir: Path) -> list[str]:
    return staged_partitions(data_dir, SOURCE_KIND)


def stage_upload(data_dir: Path, file_name: str, settings: IngestSettings) -> LedgerEntry:
    """Judge the upload `file_name` into the staging area; returns its ledger entry as judged
    (its time and its suppressed rows are the loader's)."""
    path = Path(data_dir) / UPLOADS_DIR / file_name
    mtime = upload_mtime(path)
    parsed: list[pl.DataFrame] = []

    def lookup(kind: str, raw_values: list[str]) -> pl.DataFrame:
        frame = parse_frame(kind, raw_values, settings.default_region)
        parsed.append(frame)
        return frame.select("raw", "normalized", "error_message")

    outcome = judge_upload(path, file_name, uploaded_at_from_name(file_name), settings, lookup)
    keys = pl.concat(parsed) if parsed else parse_frame("email", [])

    def write(folder: Path) -> None:
        write_frames(
            folder,
            {
                "observations": outcome.observations,
                "rejections": outcome.rejections,
                "ingest_warnings": outcome.warnings,
                "input_ledger": ledger_frame(outcome.entry, {"mtime": (mtime, pl.Float64)}),
                "normalized_identifiers": keys,
            },
        )

    stage_partition(data_dir, SOURCE_KIND, file_name, write)
    return outcome.entry


def load_uploads(
    con: duckdb.DuckDBPyConnection, data_dir: Path, names: list[str]
) -> list[LedgerEntry]:
    """Store the staged `names` as a direct ingest would; inside the loader's transaction."""
    entries = []
    for name in names:
        frames = read_frames(data_dir, SOURCE_KIND, name, TABLES)
        entry, extra = read_ledger(frames["input_ledger"])
        entry = replace(entry, uploaded_at=register_time(con, name, extra["mtime"]))
        _add_cached_keys(con, frames["normalized_identifiers"])
        outcome = UploadOutcome(
            entry, frames["observations"], frames["rejections"], frames["ingest_warnings"]
        )
        entries.append(store_outcome(con, outcome))
    return entries


def _add_cached_keys(con: duckdb.DuckDBPyConnection, keys: pl.DataFrame) -> None:
    con.register("_staged_keys", keys.select(_CACHE_COLUMNS))
    try:
        con.execute(
            "INSERT INTO normalized_identifiers BY NAME "
            "SELECT * FROM _staged_keys s WHERE NOT EXISTS (SELECT 1 FROM normalized_identifiers n "
            "WHERE n.kind = s.kind AND n.region = s.region AND n.raw = s.raw)"
        )
    finally:
        con.unregister("_staged_keys")
