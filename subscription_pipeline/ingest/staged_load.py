"""The loader: every staged partition into the warehouse, in ONE transaction, by its one writer.

Uploads, log days and inbox days staged by any number of workers (`staged_uploads`,
`staged_logs`, `staged_inbox`) are stored with the direct path's code, suppressions in force
honoured. After the commit the inbox days are marked ingested and the staged folders removed; a
crash in between only loads them again, to the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from subscription_pipeline.ingest import api_inbox, csv_outcome, event_logs
from subscription_pipeline.ingest.api_inbox import mark_inbox_day_ingested
from subscription_pipeline.ingest.staged_inbox import load_inbox_days, staged_inbox_days
from subscription_pipeline.ingest.staged_logs import load_log_days, staged_days
from subscription_pipeline.ingest.staged_uploads import load_uploads, staged_uploads
from subscription_pipeline.ingest.staging import remove_staged
from subscription_pipeline.ingest.store import LedgerEntry
from subscription_pipeline.warehouse.connection import transaction


@dataclass
class Loaded:
    uploads: list[LedgerEntry] = field(default_factory=list)
    log_days: list[str] = field(default_factory=list)
    inbox_days: list[LedgerEntry] = field(default_factory=list)

    @property
    def partitions(self) -> int:
        return len(self.uploads) + len(self.log_days) + len(self.inbox_days)


def load_staged(con: duckdb.DuckDBPyConnection, data_dir: Path) -> Loaded:
    """Load every complete staged partition; returns what was loaded."""
    uploads, days, inbox = (
        staged_uploads(data_dir),
        staged_days(data_dir),
        staged_inbox_days(data_dir),
    )
    if not (uploads or days or inbox):
        return Loaded()
    with transaction(con):
        entries = load_uploads(con, data_dir, uploads)
        load_log_days(con, data_dir, days)
        inbox_loaded = load_inbox_days(con, data_dir, inbox)
    for day, outcome, stored in inbox_loaded:
        mark_inbox_day_ingested(data_dir, day, outcome, stored)
    remove_staged(data_dir, csv_outcome.SOURCE_KIND, uploads)
    remove_staged(data_dir, event_logs.SOURCE_KIND, days)
    remove_staged(data_dir, api_inbox.SOURCE_KIND, inbox)
    return Loaded(entries, days, [stored for _, _, stored in inbox_loaded])
