"""Staged CSV uploads: an upload judged into Parquet files, then the loader stores them.

`stage_upload` needs no warehouse: the upload is judged (`csv_outcome.judge_upload_file`, a
function of the file that parses the keys it needs) and written into the staging area
(DATA_DIR/staging/csv/<file name>/, atomic, a re-run replaces it): observations, rejections,
ingest_warnings, the ledger row as judged (with the file's modification time, for the upload
time) and the parsed keys (normalized_identifiers).

`load_uploads` runs inside the loader's one transaction and stores each upload with
`csv_upload.store_upload`, the direct path's own code: time registered (the first time seen
wins), keys cached, rows replaced, suppressions honoured, ledger row written.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from subscription_pipeline.ingest.csv_outcome import (
    SOURCE_KIND,
    JudgedUpload,
    UploadOutcome,
    judge_upload_file,
)
from subscription_pipeline.ingest.csv_upload import store_upload
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

TABLES = ("observations", "rejections", "ingest_warnings", "input_ledger", "normalized_identifiers")


def staged_uploads(data_dir: Path) -> list[str]:
    return staged_partitions(data_dir, SOURCE_KIND)


def stage_upload(data_dir: Path, file_name: str, settings: IngestSettings) -> LedgerEntry:
    """Judge the upload `file_name` into the staging area; returns its ledger entry as judged
    (its time and its suppressed rows are the loader's)."""
    judged = judge_upload_file(data_dir, file_name, settings)
    outcome = judged.outcome

    def write(folder: Path) -> None:
        write_frames(
            folder,
            {
                "observations": outcome.observations,
                "rejections": outcome.rejections,
                "ingest_warnings": outcome.warnings,
                "input_ledger": ledger_frame(outcome.entry, {"mtime": (judged.mtime, pl.Float64)}),
                "normalized_identifiers": judged.keys,
            },
        )

    stage_partition(data_dir, SOURCE_KIND, file_name, write)
    return outcome.entry


def load_uploads(
    con: duckdb.DuckDBPyConnection, data_dir: Path, names: list[str]
) -> list[LedgerEntry]:
    """Store the staged `names` as a direct ingest does; inside the loader's transaction."""
    entries = []
    for name in names:
        frames = read_frames(data_dir, SOURCE_KIND, name, TABLES)
        entry, extra = read_ledger(frames["input_ledger"])
        outcome = UploadOutcome(
            entry, frames["observations"], frames["rejections"], frames["ingest_warnings"]
        )
        judged = JudgedUpload(outcome, extra["mtime"], frames["normalized_identifiers"])  # type: ignore[arg-type]
        entries.append(store_upload(con, judged))
    return entries
