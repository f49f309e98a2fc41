"""The raw values a warehouse's normalisation cache holds: the real inputs of the parsers."""

from __future__ import annotations

from pathlib import Path

import duckdb


def cached_raw_values(warehouse: Path | str, kind: str) -> list[str]:
    """Every raw `kind` ('email' or 'phone') value the warehouse has normalised, sorted."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT raw FROM normalized_identifiers WHERE kind = ? ORDER BY raw", [kind]
        ).fetchall()
    finally:
        con.close()
    return [raw for (raw,) in rows]
