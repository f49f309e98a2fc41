"""The landing-zone sensor: new or changed uploads, log days and API inbox days become runs.

What is new comes from `pending.find_pending`, the same answer the CLI's `reconcile` uses: the
ledger file published beside the warehouse after every ingestion, and the inbox's own marks. The
sensor never opens the warehouse (a run may hold its only write lock), so it never re-runs what
a CLI reconcile already ingested, even on its first tick.

Its cursor only remembers what it has already asked for and is still pending, with the input's
fingerprint then: an input is asked for again only once it changed (a failed run is retried
from the UI, not every minute); once ingested it leaves the cursor, so a rebuilt warehouse is
ingested again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg

from subscription_pipeline.api.inbox import inbox_path, open_inbox
from subscription_pipeline.ingest.event_logs import log_files_for_day
from subscription_pipeline.ingest.upload_files import UPLOADS_DIR
from subscription_pipeline.orchestration.jobs import (
    ingest_inbox_job,
    ingest_logs_job,
    ingest_uploads_job,
)
from subscription_pipeline.orchestration.partitions import UPLOAD_PARTITIONS_NAME
from subscription_pipeline.orchestration.pending import PendingInputs, find_pending
from subscription_pipeline.orchestration.resources import WarehouseResource
from subscription_pipeline.orchestration.runner import day_ranges
from subscription_pipeline.orchestration.schedules import RANGE_END_TAG, RANGE_START_TAG


def _stat_print(path: Path) -> str:
    stat = path.lstat()  # a symbolic link is fingerprinted, never followed
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def run_requests(wanted: dict[str, tuple[str, str, str]]) -> list[dg.RunRequest]:
    """One run per upload; one run per range of consecutive days of each day-partitioned job."""
    requests = []
    days_by_job: dict[str, list[str]] = {}
    for job, partition, _ in sorted(wanted.values()):
        if job == ingest_uploads_job.name:
            requests.append(dg.RunRequest(job_name=job, partition_key=partition))
        else:
            days_by_job.setdefault(job, []).append(partition)
    for job, days in sorted(days_by_job.items()):
        for first, last in day_ranges(days):
            if first == last:
                requests.append(dg.RunRequest(job_name=job, partition_key=first))
            else:
                tags = {RANGE_START_TAG: first, RANGE_END_TAG: last}
                requests.append(dg.RunRequest(job_name=job, tags=tags))
    return requests


def _inbox_prints(data_dir: Path, days: list[str]) -> dict[str, str]:
    if not days:
        return {}
    con = open_inbox(inbox_path(data_dir))
    try:
        rows = con.execute("SELECT day, max(seq) FROM entries GROUP BY day").fetchall()
    finally:
        con.close()
    last = dict(rows)
    return {day: str(last.get(day)) for day in days}


def pending_requests(data_dir: Path, pending: PendingInputs) -> dict[str, tuple[str, str, str]]:
    """'kind/partition' -> (job name, partition key, fingerprint of the input now)."""
    requests: dict[str, tuple[str, str, str]] = {}
    for name in pending.uploads:
        print_ = _stat_print(data_dir / UPLOADS_DIR / name)
        requests[f"upload/{name}"] = (ingest_uploads_job.name, name, print_)
    for day in pending.log_days:
        files = "|".join(
            f"{rel}:{_stat_print(data_dir / rel)}" for rel in log_files_for_day(data_dir, day)
        )
        print_ = hashlib.sha256(files.encode()).hexdigest()[:16]
        requests[f"log_day/{day}"] = (ingest_logs_job.name, day, print_)
    for day, print_ in _inbox_prints(data_dir, pending.inbox_days).items():
        requests[f"inbox_day/{day}"] = (ingest_inbox_job.name, day, print_)
    return requests


@dg.sensor(
    jobs=[ingest_uploads_job, ingest_logs_job, ingest_inbox_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Registers each new CSV upload as a partition and requests the ingestion of "
    "every new or changed upload, received day of event logs and API inbox day.",
)
def upload_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    data_dir = warehouse.data_path()
    pending = find_pending(data_dir, warehouse.warehouse_path(), allow_database=False)
    now = pending_requests(data_dir, pending)
    asked: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    wanted = {key: request for key, request in now.items() if asked.get(key) != request[2]}
    cursor = json.dumps({key: request[2] for key, request in now.items()}, sort_keys=True)
    if not wanted:
        return dg.SensorResult(skip_reason="nothing new in the landing zone", cursor=cursor)
    known = set(context.instance.get_dynamic_partitions(UPLOAD_PARTITIONS_NAME))
    new = [name for name in pending.uploads if name not in known]
    return dg.SensorResult(
        run_requests=run_requests(wanted),
        dynamic_partitions_requests=[
            dg.AddDynamicPartitionsRequest(
                partitions_def_name=UPLOAD_PARTITIONS_NAME, partition_keys=new
            )
        ]
        if new
        else [],
        cursor=cursor,
    )
