"""Applying queued erasures: the first thing every holder of the warehouse does.

`forget` records a request in the registry at once, whatever holds the warehouse; whoever opens
the warehouse for writing next (the `forget` command itself when the warehouse is free, else
the next run's first step) copies the registry's suppressions into it and purges the queued
contacts from the warehouse and the files. A crash midway leaves the request queued; purging
again is harmless. So an erasure during a running reconcile is applied right after it, never
lost, and the running reconcile's own writes already honour the suppression if it ingests after
the copy; otherwise the purge removes what it wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from subscription_pipeline import paths
from subscription_pipeline.erasure import registry
from subscription_pipeline.erasure.compact import compact_warehouse
from subscription_pipeline.erasure.purge_files import purge_files
from subscription_pipeline.erasure.purge_warehouse import PurgeCounts, purge_contact
from subscription_pipeline.erasure.spellings import contact_spellings
from subscription_pipeline.warehouse.connection import transaction
from subscription_pipeline.warehouse.publish import publish


@dataclass(frozen=True)
class AppliedErasure:
    contact_hash: str
    counts: PurgeCounts
    files: list[Path]


def apply_pending_erasures(
    con: duckdb.DuckDBPyConnection,
    data_dir: Path,
    warehouse: Path,
    reopen: Callable[[], duckdb.DuckDBPyConnection],
) -> duckdb.DuckDBPyConnection:
    """apply_erasures on the engine file `con` holds, then, when one was applied, compact that
    file, publish the analysts' copy `warehouse` again and return a fresh connection from
    `reopen` (the one given is closed); else the connection given."""
    if not apply_erasures(con, data_dir, warehouse):
        return con
    con.close()
    return compact_and_publish(warehouse, reopen)


def compact_and_publish(
    warehouse: Path, reopen: Callable[[], duckdb.DuckDBPyConnection]
) -> duckdb.DuckDBPyConnection:
    """Compact the engine file of `warehouse` (closed by the caller), reopen it and, when an
    analysts' copy exists, publish it again: the copy held the erased contact too."""
    compact_warehouse(paths.engine_warehouse(Path(warehouse)))
    con = reopen()
    if Path(warehouse).exists():
        publish(con, Path(warehouse))
    return con


def apply_erasures(
    con: duckdb.DuckDBPyConnection, data_dir: Path, warehouse: Path
) -> list[AppliedErasure]:
    """Copy the suppressions into the warehouse, then purge every queued contact."""
    if not registry.registry_path(data_dir).exists():
        return []
    with registry.open_registry(data_dir) as reg:
        queued = registry.pending(reg)
        suppressions = registry.suppressions(reg)
        audit = registry.audit_rows(reg)
    _copy_registry(con, suppressions, audit)
    applied = []
    for request in queued:
        spellings = contact_spellings(request.contact, con)
        counts = purge_contact(con, request.contact, spellings)
        files = purge_files(con, data_dir, warehouse, spellings)
        with registry.open_registry(data_dir) as reg:
            registry.mark_applied(reg, request)
        applied.append(AppliedErasure(request.contact_hash, counts, files))
    if applied:
        with registry.open_registry(data_dir) as reg:
            _copy_registry(con, registry.suppressions(reg), registry.audit_rows(reg))
    return applied


def copy_registry_suppressions(con: duckdb.DuckDBPyConnection, data_dir: Path) -> None:
    """Copy the registry's suppressions into `con` without purging anything: a scratch database
    that ingests (a staged log day) then leaves out suppressed contacts as the warehouse does."""
    if not registry.registry_path(data_dir).exists():
        return
    with registry.open_registry(data_dir) as reg:
        _copy_registry(con, registry.suppressions(reg), registry.audit_rows(reg))


def _copy_registry(
    con: duckdb.DuckDBPyConnection,
    suppressions: list[tuple[str, str, str | None]],
    audit: list[tuple],
) -> None:
    """Replace the warehouse's copies when they differ (usually they do not: no write)."""
    current = con.execute(
        "SELECT contact_hash, erased_at, lifted_at FROM suppressions ORDER BY contact_hash"
    ).fetchall()
    wanted = [(h, _time(e), _time(lift)) for h, e, lift in suppressions]
    (audited,) = con.execute("SELECT count(*) FROM erasure_audit").fetchone()
    if current == wanted and audited == len(audit):
        return
    with transaction(con):
        con.execute("DELETE FROM suppressions")
        if wanted:
            con.executemany("INSERT INTO suppressions VALUES (?, ?, ?)", wanted)
        con.execute("DELETE FROM erasure_audit")
        if audit:
            con.executemany(
                "INSERT INTO erasure_audit VALUES (?, ?, ?, ?, ?, ?)",
                [(seq, _time(at), *rest) for seq, at, *rest in audit],
            )


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
