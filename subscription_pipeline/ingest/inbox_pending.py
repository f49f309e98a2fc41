"""Which API inbox days a reconcile must ingest; light to import (no DuckDB, no polars), since
every reconcile and sensor tick asks it, usually to hear "none"."""

from __future__ import annotations

from pathlib import Path

from subscription_pipeline.api.inbox import days_with_new_entries, inbox_path, open_inbox
from subscription_pipeline.erasure.api_support import days_with_suppressed_only


def pending_inbox_days(data_dir: Path) -> list[str]:
    """Days with entries accepted since the last ingestion of that day (or with suppressed
    entries only, never counted yet)."""
    days = days_with_new_entries(inbox_path(data_dir))
    if not inbox_path(data_dir).exists():
        return days
    con = open_inbox(inbox_path(data_dir))
    try:
        return sorted({*days, *days_with_suppressed_only(con)})
    finally:
        con.close()
