"""Removing one contact from the files the pipeline wrote under the data directory (SPEC 3).

- the API inbox (SQLite): its entries go, answers stored for idempotent retries are rewritten
  without it, deleted pages are zeroed (secure_delete) and the write-ahead log truncated;
- the API snapshot, and the one staged for release: published again from the purged warehouse;
- the staged log days (data/staging/*.parquet): rows naming it dropped;
- the upload error reports: written again (SUPPRESSED lines, identifiers blanked);
- every other CSV or Parquet file (exports): rows naming it dropped; a JSON document naming
  it (a consent record) deleted.
The landing zone's raw inputs are the user's and stay as they are (docs/consent.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from subscription_pipeline import paths
from subscription_pipeline.api.inbox import inbox_path
from subscription_pipeline.api.published_state import publish_snapshot, snapshot_path
from subscription_pipeline.erasure.api_support import ensure_inbox_tables
from subscription_pipeline.erasure.registry import REGISTRY_FILE
from subscription_pipeline.erasure.search import written_files
from subscription_pipeline.error_reports.error_report import refresh_error_reports
from subscription_pipeline.ingest.csv_upload import list_uploads
from subscription_pipeline.ingest.ledger_file import ledger_file
from subscription_pipeline.orchestration.snapshot_release import stage_snapshot, staged_path

ERASED = "[erased]"
REPORTS_DIR = "reports"


def purge_files(
    con: duckdb.DuckDBPyConnection, data_dir: Path, warehouse: Path, spellings: list[str]
) -> list[Path]:
    """Purge every written file; return the files changed."""
    data_dir = Path(data_dir)
    changed: list[Path] = []
    if _purge_inbox(inbox_path(data_dir), spellings):
        changed.append(inbox_path(data_dir))
    if snapshot_path(data_dir).exists():
        changed.append(publish_snapshot(con, data_dir))
    if staged_path(data_dir).exists():
        # A snapshot staged but not yet released would bring the contact back at release.
        changed.append(stage_snapshot(con, data_dir))
    reports = data_dir / REPORTS_DIR
    if reports.is_dir():
        # An upload edited since (e.g. purged by hand) cannot be re-read: its report's cells are
        # blanked below instead.
        with contextlib.suppress(RuntimeError, OSError):
            refresh_error_reports(con, data_dir, list_uploads(data_dir), reports)
    special = {
        inbox_path(data_dir),
        snapshot_path(data_dir),
        staged_path(data_dir),
        data_dir / REGISTRY_FILE,
        Path(warehouse),
        paths.engine_warehouse(Path(warehouse)),
    }
    # The ledger file is searched too (it should hold no contact: file names and sizes).
    for path in written_files(data_dir, extra=[ledger_file(warehouse)]):
        if path in special or path.name.startswith("."):
            continue
        if _purge_file(path, spellings):
            changed.append(path)
    return changed


def _matches(spellings: list[str]) -> pl.Expr:
    return pl.col(pl.String).str.strip_chars().str.to_lowercase().is_in(spellings)


def _purge_file(path: Path, spellings: list[str]) -> bool:
    suffix = path.suffix.lower()
    if suffix == ".json":
        text = path.read_text(errors="replace").lower()
        if any(s in text for s in spellings):
            path.unlink()
            return True
        return False
    if suffix not in (".csv", ".parquet"):
        return False
    frame = pl.read_csv(path, infer_schema=False) if suffix == ".csv" else pl.read_parquet(path)
    if not frame.columns or not any(dtype == pl.String for dtype in frame.dtypes):
        return False
    hit = frame.select(pl.any_horizontal(_matches(spellings)).alias("hit")).to_series()
    if not hit.any():
        return False
    if path.parent.name == REPORTS_DIR:
        # An error report keeps its line (the row to fix) without the address.
        kept = frame.with_columns(
            pl.when(_matches(spellings)).then(None).otherwise(pl.col(pl.String)).name.keep()
        )
    else:
        kept = frame.filter(~hit)
    partial = path.with_name(f".{path.name}.partial")
    if suffix == ".csv":
        kept.write_csv(partial)
    else:
        kept.write_parquet(partial)
    os.replace(partial, path)
    return True


def _purge_inbox(path: Path, spellings: list[str]) -> bool:
    if not path.exists():
        return False
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        con.execute("PRAGMA secure_delete=ON")
        ensure_inbox_tables(con)  # a script: it would commit an open transaction
        con.execute("BEGIN IMMEDIATE")
        marks = ",".join("?" for _ in spellings)
        # Counted where they were (the ledger's `suppressed`), without the contact.
        con.execute(
            "INSERT INTO suppressed_entries (request_id, item_index, day, channel, observations) "
            "SELECT request_id, item_index, day, channel, count(*) FROM entries "
            f"WHERE lower(contact) IN ({marks}) GROUP BY request_id, item_index, day, channel",
            spellings,
        )
        deleted = con.execute(
            f"DELETE FROM entries WHERE lower(contact) IN ({marks})",
            spellings,
        ).rowcount
        rewritten = 0
        answers = con.execute("SELECT request_id, response FROM requests").fetchall()
        for request_id, response in answers:
            scrubbed = _scrub_json(response, spellings)
            if scrubbed != response:
                con.execute(
                    "UPDATE requests SET response = ? WHERE request_id = ?",
                    (scrubbed, request_id),
                )
                rewritten += 1
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return bool(deleted or rewritten)
    finally:
        con.close()


def _scrub_json(text: str, spellings: list[str]) -> str:
    """The stored answer with every value naming the contact replaced; unchanged if none does."""
    lowered = text.lower()
    if not any(s in lowered for s in spellings):
        return text

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: scrub(item) for key, item in value.items()}
        if isinstance(value, list):
            return [scrub(item) for item in value]
        if isinstance(value, str) and any(s in value.lower() for s in spellings):
            return ERASED
        return value

    return json.dumps(scrub(json.loads(text)), separators=(",", ":"))
