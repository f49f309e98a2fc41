"""The ledger's accounting identity, checked from the warehouse side."""

from __future__ import annotations

from typing import Any


def unbalanced_files(con: Any, source_kind: str | None = None) -> list[str]:
    """Files whose rows_in is not applied + ignored + duplicate + rejected + suppressed."""
    rows = con.execute(
        "SELECT source_file FROM input_ledger "
        "WHERE rows_in <> applied + ignored + duplicate + rejected + suppressed "
        "AND source_kind = coalesce(?, source_kind) ORDER BY source_file",
        [source_kind],
    ).fetchall()
    return [file for (file,) in rows]
