"""The ledger's ingestion time is UTC whatever the session's time zone: `reconcile` compares it
with file modification times in UTC to decide what changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from subscription_pipeline.ingest.store import LedgerEntry, write_ledger_entry
from subscription_pipeline.warehouse.connection import connect


def test_ingested_at_is_utc_in_a_far_time_zone(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    con.execute("SET TimeZone = 'Asia/Tokyo'")
    entry = LedgerEntry("uploads/a.csv", "csv", "a.csv", "ingested", 1, 1, 0, 0, 0)
    write_ledger_entry(con, entry)
    [(ingested_at,)] = con.execute("SELECT ingested_at FROM input_ledger").fetchall()
    now = datetime.now(UTC).replace(tzinfo=None)
    assert abs(now - ingested_at) < timedelta(minutes=5)
