"""What must be ingested: inputs not in the ledger, or changed since their ingestion.

One answer for the CLI's `reconcile` and for the upload sensor: both read the ledger file that
every ingestion publishes beside the warehouse (`ingest/ledger_file.py`), never the database
itself, and the API inbox's own marks of what was ingested.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from subscription_pipeline import paths

# The light modules, not the ingestion's: most reconciles find nothing new and stop here.
from subscription_pipeline.ingest.inbox_pending import pending_inbox_days
from subscription_pipeline.ingest.ledger_file import LedgerFingerprint, read_ledger_file
from subscription_pipeline.ingest.log_layout import list_log_days, log_files_for_day
from subscription_pipeline.ingest.upload_files import UPLOADS_DIR, list_uploads
from subscription_pipeline.warehouse.connection import connect


@dataclass(frozen=True)
class PendingInputs:
    uploads: list[str]
    log_days: list[str]
    inbox_days: list[str] = field(default_factory=list)


def read_ledger(warehouse: Path, *, allow_database: bool = True) -> dict[str, LedgerFingerprint]:
    """The ledger file; without one, the engine's table (a warehouse from before the file
    existed) unless the caller must not open the database (a sensor): then everything is new,
    and the first ingestion publishes the file."""
    published = read_ledger_file(warehouse)
    if published is not None:
        return published
    # The engine's ledger (ingestion writes it); before its first run, the warehouse it adopts.
    engine = paths.engine_warehouse(warehouse)
    warehouse = engine if engine.exists() else warehouse
    if not allow_database or not warehouse.exists():
        return {}
    con = connect(warehouse, read_only=True)
    try:
        tables = {name for (name,) in con.execute("SHOW TABLES").fetchall()}
        if "input_ledger" not in tables:
            return {}
        rows = con.execute(
            "SELECT source_file, size_bytes, ingested_at FROM input_ledger"
        ).fetchall()
    finally:
        con.close()
    return {path: LedgerFingerprint(size, at) for path, size, at in rows}


def is_stale(path: Path, relative: str, ledger: dict[str, LedgerFingerprint]) -> bool:
    """New, resized or modified after its ingestion (lstat: links are judged, never followed)."""
    known = ledger.get(relative)
    if known is None:
        return True
    stat = path.lstat()
    modified = datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None)
    size_changed = known.size_bytes is not None and known.size_bytes != stat.st_size
    return size_changed or modified > known.ingested_at


def find_pending(data_dir: Path, warehouse: Path, *, allow_database: bool = True) -> PendingInputs:
    ledger = read_ledger(warehouse, allow_database=allow_database)
    uploads = [
        name
        for name in list_uploads(data_dir)
        if is_stale(data_dir / UPLOADS_DIR / name, f"{UPLOADS_DIR}/{name}", ledger)
    ]
    days = [
        day
        for day in list_log_days(data_dir)
        if any(is_stale(data_dir / rel, rel, ledger) for rel in log_files_for_day(data_dir, day))
    ]
    inbox_days = pending_inbox_days(data_dir)
    return PendingInputs(uploads=uploads, log_days=days, inbox_days=inbox_days)
