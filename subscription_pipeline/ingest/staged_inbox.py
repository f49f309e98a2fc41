"""Staged API inbox days: a day's outcome as Parquet files, then the loader stores them.

`stage_inbox_day` reads the day from the SQLite inbox (`api_inbox.inbox_day_outcome`, no
warehouse) and writes observations, rejections and its ledger row (with the last `seq` read and
the entries count) under DATA_DIR/staging/api/<day>/. `load_inbox_days` stores each day with
`api_inbox.store_inbox_outcome`, the direct path's code, inside the loader's transaction; the
loader marks the days ingested in the inbox only after its commit.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from subscription_pipeline.ingest.api_inbox import (
    SOURCE_KIND,
    InboxOutcome,
    inbox_day_outcome,
    store_inbox_outcome,
)
from subscription_pipeline.ingest.staging import (
    ledger_frame,
    read_frames,
    read_ledger,
    stage_partition,
    staged_partitions,
    write_frames,
)
from subscription_pipeline.ingest.store import LedgerEntry

TABLES = ("observations", "rejections", "input_ledger")


def staged_inbox_days(data_dir: Path) -> list[str]:
    return staged_partitions(data_dir, SOURCE_KIND)


def stage_inbox_day(data_dir: Path, day: str) -> LedgerEntry:
    """Read the inbox's `day` into the staging area; returns its ledger entry as read."""
    outcome = inbox_day_outcome(data_dir, day)
    extra = {
        "through_seq": (outcome.through_seq, pl.Int64),
        "entries": (outcome.entries, pl.Int64),
    }

    def write(folder: Path) -> None:
        write_frames(
            folder,
            {
                "observations": outcome.observations,
                "rejections": outcome.rejections,
                "input_ledger": ledger_frame(outcome.entry, extra),
            },
        )

    stage_partition(data_dir, SOURCE_KIND, day, write)
    return outcome.entry


def load_inbox_days(
    con: duckdb.DuckDBPyConnection, data_dir: Path, days: list[str]
) -> list[tuple[str, InboxOutcome, LedgerEntry]]:
    """Store the staged `days`; inside the loader's transaction. Returns, per day, what the
    loader marks in the inbox after its commit."""
    loaded = []
    for day in days:
        frames = read_frames(data_dir, SOURCE_KIND, day, TABLES)
        entry, extra = read_ledger(frames["input_ledger"])
        outcome = InboxOutcome(
            entry,
            frames["observations"],
            frames["rejections"],
            int(extra["through_seq"]),  # type: ignore[arg-type]
            int(extra["entries"]),  # type: ignore[arg-type]
        )
        loaded.append((day, outcome, store_inbox_outcome(con, outcome)))
    return loaded
