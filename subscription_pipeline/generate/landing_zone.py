"""Generate a synthetic landing zone: Segment S3 event logs and Engage CSV uploads.

Deterministic: the same arguments give byte-identical files (seeded per chunk, gzip mtime 0, no
wall clock). Memory is bounded by the chunk sizes, not by the number of events or rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from subscription_pipeline.generate.segment_logs import MessageMix, write_segment_logs
from subscription_pipeline.generate.uploads import write_uploads


@dataclass(frozen=True)
class GenerateSummary:
    events: int  # log lines written (re-delivered duplicates and defective lines included)
    log_files: int
    days: int  # received-day folders written
    uploads: int
    csv_rows: int  # CSV data rows, headers excluded
    out: Path


def generate_landing_zone(
    out: Path,
    *,
    events: int,
    contacts: int,
    days: int,
    uploads: int,
    rows: int,
    seed: int,
    start_day: date = date(2024, 3, 1),
    sources: int = 2,
    files_per_day: int = 2,
    subscription_share: float | None = None,
) -> GenerateSummary:
    """Write `out/segment-logs/...` and `out/uploads/...`; existing files of the same name are
    overwritten, other files are left alone.

    `subscription_share` (0-1): realistic analytics.js bodies, with that share of the messages
    carrying subscriptions or inbound keywords; None keeps the compact mix."""
    if min(events, contacts, days, uploads, rows, sources, files_per_day) < 0:
        raise ValueError("counts must not be negative")
    if min(days, sources, files_per_day, contacts) < 1:
        raise ValueError("days, sources, files_per_day and contacts must be at least 1")
    out = Path(out)
    logs = write_segment_logs(
        out,
        events=events,
        contacts=contacts,
        days=days,
        seed=seed,
        start_day=start_day,
        sources=sources,
        files_per_day=files_per_day,
        mix=MessageMix(subscription_share),
    )
    plan = write_uploads(
        out,
        uploads=uploads,
        rows=rows,
        contacts=contacts,
        days=days,
        seed=seed,
        start_day=start_day,
    )
    return GenerateSummary(
        events=logs.lines,
        log_files=logs.files,
        days=logs.days,
        uploads=len(plan),
        csv_rows=sum(upload.rows for upload in plan),
        out=out,
    )
