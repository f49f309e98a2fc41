"""The whole engine without Dagster: ingest every input, then resolve. For benchmarks and tests.

Every input, in the order of the Dagster reconcile: uploads, event-log days, API inbox days,
then the resolution.

Dagster's assets call the same functions partition by partition; this runs them in one process
so the orchestration overhead can be measured apart and tests can compare orders of ingestion.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from subscription_pipeline.api.inbox import accepted_days, inbox_path
from subscription_pipeline.erasure.apply import apply_pending_erasures
from subscription_pipeline.ingest.api_inbox import ingest_inbox_day
from subscription_pipeline.ingest.csv_upload import ingest_upload, list_uploads
from subscription_pipeline.ingest.event_logs import list_log_days
from subscription_pipeline.ingest.log_prefetch import ingest_log_days
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.resolve.engine import ResolutionSummary, resolve_pending
from subscription_pipeline.warehouse.connection import connect_engine
from subscription_pipeline.warehouse.publish import publish


@dataclass(frozen=True)
class EngineRun:
    uploads: int
    log_days: int
    inbox_days: int
    resolution: ResolutionSummary


def run_engine(
    data_dir: Path,
    warehouse: Path,
    settings: IngestSettings | None = None,
    memory_limit: str | None = None,
) -> EngineRun:
    settings = settings or IngestSettings()
    con = connect_engine(warehouse, memory_limit=memory_limit)
    try:
        con = apply_pending_erasures(
            con, data_dir, warehouse, lambda: connect_engine(warehouse, memory_limit=memory_limit)
        )
        uploads = list_uploads(data_dir)
        for name in uploads:
            ingest_upload(con, data_dir, name, settings)
        days = list_log_days(data_dir)
        for _ in ingest_log_days(con, data_dir, days, settings):
            pass
        inbox_days = accepted_days(inbox_path(data_dir))
        for day in inbox_days:
            ingest_inbox_day(con, data_dir, day)
        resolution = resolve_pending(con)
        publish(con, warehouse)  # as the Dagster resolution does: `warehouse` is the analysts' copy
        return EngineRun(len(uploads), len(days), len(inbox_days), resolution)
    finally:
        con.close()


if __name__ == "__main__":
    import sys

    print(run_engine(Path(sys.argv[1]), Path(sys.argv[2])))
