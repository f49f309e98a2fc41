"""The input ledger as a file beside the warehouse, for readers that must not open DuckDB.

The upload sensor runs every minute while a run may hold the warehouse's only write lock, so it
cannot read `input_ledger`. Each ingestion therefore republishes the ledger's fingerprints
(`source_file`, `size_bytes`, `ingested_at`) as `<warehouse stem>.ledger.parquet` (a temporary
file, then an atomic rename), after its transaction committed. The CLI and the sensor decide
what is new from this one file (`orchestration/pending.py`).

A crash between the commit and the rename leaves the file one ingestion behind: that input is
then ingested again, which is idempotent; the file never claims more than the warehouse holds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from subscription_pipeline import paths


@dataclass(frozen=True)
class LedgerFingerprint:
    size_bytes: int | None
    ingested_at: datetime


def ledger_file(warehouse: Path) -> Path:
    return Path(warehouse).with_name(f"{Path(warehouse).stem}.ledger.parquet")


def publish_ledger(con: duckdb.DuckDBPyConnection, warehouse: Path) -> Path:
    target = ledger_file(warehouse)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    con.execute(
        "COPY (SELECT source_file, size_bytes, ingested_at FROM input_ledger ORDER BY 1) "
        "TO ? (FORMAT parquet)",
        [str(temp)],
    )
    os.replace(temp, target)
    return target


def read_ledger_file(warehouse: Path) -> dict[str, LedgerFingerprint] | None:
    """The published ledger; None when there is none (never published, or no warehouse).

    A ledger file without its warehouse (engine and published copy deleted for a rebuild) is
    ignored: nothing is ingested then.
    """
    path = ledger_file(warehouse)
    stored = Path(warehouse).exists() or paths.engine_warehouse(Path(warehouse)).exists()
    if not stored or not path.exists():
        return None
    table = pq.read_table(path, columns=["source_file", "size_bytes", "ingested_at"])
    return {
        row["source_file"]: LedgerFingerprint(row["size_bytes"], row["ingested_at"])
        for row in table.to_pylist()
    }
