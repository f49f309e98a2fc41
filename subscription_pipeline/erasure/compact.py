"""Rewriting the warehouse file after an erasure, so no freed block still holds the contact.

DuckDB marks the blocks of deleted rows free but does not overwrite them: until reused, the
bytes of an erased address can stay in the file. A copy of the live database into a new file,
renamed over the old one, leaves them behind. It costs a full copy, once per batch of erasures;
readers that had the old file open keep reading it until they reopen.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb


def compact_warehouse(warehouse: Path) -> None:
    """Copy every table, view and constraint into a fresh file; then rename it over the old one.
    The warehouse must be closed by this process (DuckDB allows one writer)."""
    warehouse = Path(warehouse)
    fresh = warehouse.with_name(f".{warehouse.name}.compact")
    fresh.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS erased_old (READ_ONLY)", [str(warehouse)])
        con.execute("ATTACH ? AS erased_fresh", [str(fresh)])
        con.execute("COPY FROM DATABASE erased_old TO erased_fresh")
        con.execute("DETACH erased_fresh")
        con.execute("DETACH erased_old")
    finally:
        con.close()
    with open(fresh, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(fresh, warehouse)
