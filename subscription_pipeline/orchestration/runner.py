"""`reconcile`: register new inputs and run them through Dagster on the project's instance.

Runs execute in this process but are recorded on the instance at DAGSTER_HOME, so they show in
the UI next to the sensor's and the schedule's runs. Partitions are grouped into contiguous
ranges, one run per range, so a backfill of a year of logs is a handful of runs, not 365.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from subscription_pipeline import paths
from subscription_pipeline.orchestration.distributed import execute_elsewhere
from subscription_pipeline.orchestration.executors import broker_url
from subscription_pipeline.orchestration.partitions import UPLOAD_PARTITIONS_NAME
from subscription_pipeline.orchestration.pending import PendingInputs, find_pending

STAGED_LOGS_JOB = "stage_event_logs"


def staged_days_config(days: list[str]) -> dict:
    return {"ops": {"log_days_to_stage": {"config": {"days": sorted(set(days))}}}}


RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
LAUNCHED_BY_TAG = "subscription_pipeline/launched_by"
PID_TAG = "subscription_pipeline/pid"


class ReconcileFailed(RuntimeError):
    """A Dagster run of the reconcile did not succeed."""


@dataclass
class RunRecord:
    job: str
    partitions: str
    run_id: str
    success: bool
    error: str = ""


@dataclass
class ReconcileResult:
    uploads: list[str] = field(default_factory=list)
    log_days: list[str] = field(default_factory=list)
    inbox_days: list[str] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME must be absolute: default to the repo's dagster_home/ folder."""
    home = paths.default_dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def contiguous_ranges(keys: list[str], order: list[str]) -> list[tuple[str, str]]:
    """Group `keys` into runs that are contiguous in the partition order `order`."""
    position = {key: index for index, key in enumerate(order)}
    ranges: list[tuple[str, str]] = []
    for key in sorted(keys, key=position.__getitem__):
        if ranges and position[key] == position[ranges[-1][1]] + 1:
            ranges[-1] = (ranges[-1][0], key)
        else:
            ranges.append((key, key))
    return ranges


def days_between(first: str, last: str) -> list[str]:
    """Every day from `first` to `last` inclusive, as 'YYYY-MM-DD'."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def day_ranges(days: Iterable[str]) -> list[tuple[str, str]]:
    ordered = sorted(set(days))
    if not ordered:
        return []
    return contiguous_ranges(ordered, days_between(ordered[0], ordered[-1]))


def run_job(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    job_name: str,
    run_config: dict,
    partition_range: tuple[str, str] | None = None,
    executor: str = "in_process",
) -> RunRecord:
    job = defs.resolve_job_def(job_name)
    tags = {LAUNCHED_BY_TAG: "reconcile", PID_TAG: str(os.getpid())}
    if partition_range:
        tags |= {RANGE_START_TAG: partition_range[0], RANGE_END_TAG: partition_range[1]}
    if executor == "in_process":
        result = job.execute_in_process(
            run_config=run_config, instance=instance, tags=tags, raise_on_error=False
        )
    else:
        result = execute_elsewhere(job_name, instance, run_config, tags, executor)
    label = f"{partition_range[0]}..{partition_range[1]}" if partition_range else "-"
    errors = [
        event.step_failure_data.error.message.strip()
        for event in result.all_events
        if event.is_step_failure and event.step_failure_data.error
    ]
    return RunRecord(job_name, label, result.run_id, result.success, "; ".join(errors))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_abandoned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail the reconcile runs whose process died (kill -9, power loss) and free their pool slots.

    Without this, a killed run would hold the warehouse pool's only slot for ever and every
    later reconcile would wait on it. The warehouse itself needs no repair: each partition and
    each resolution is one DuckDB transaction, and dirty vectors survive until resolved.
    """
    released = []
    in_flight = dg.RunsFilter(
        statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING],
        tags={LAUNCHED_BY_TAG: "reconcile"},
    )
    for run in instance.get_runs(filters=in_flight):
        pid = run.tags.get(PID_TAG)
        if pid and pid.isdigit() and not _process_alive(int(pid)):
            instance.report_run_failed(run, message=f"reconcile process {pid} died mid-run")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            released.append(run.run_id)
    return released


def reconcile(
    data_dir: Path, warehouse: Path, default_region: str = "US", executor: str = "in_process"
) -> ReconcileResult:
    """Ingest what is new or changed since the ledger last saw it, then resolve."""
    pending = find_pending(data_dir, warehouse)
    return run_partitions(data_dir, warehouse, pending, default_region, executor)


def backfill(
    data_dir: Path,
    warehouse: Path,
    *,
    uploads: list[str],
    log_days: list[str],
    default_region: str = "US",
    executor: str = "in_process",
) -> ReconcileResult:
    """Re-ingest the named partitions whatever the ledger says (idempotent), then resolve."""
    pending = PendingInputs(uploads, log_days)
    return run_partitions(data_dir, warehouse, pending, default_region, executor)


def run_partitions(
    data_dir: Path,
    warehouse: Path,
    pending: PendingInputs,
    default_region: str,
    executor: str = "in_process",
) -> ReconcileResult:
    ensure_dagster_home()
    if executor == "celery":
        broker_url()  # no broker: one clear error before any run starts
    # Imported here: loading the definitions must not happen before DAGSTER_HOME is set.
    from subscription_pipeline.definitions import defs

    run_config = {
        "resources": {
            "warehouse": {
                "config": {
                    "data_dir": str(data_dir),
                    "warehouse": str(warehouse),
                    "default_region": default_region,
                }
            }
        },
        # Every event is still stored (the UI shows them); the terminal gets INFO and above.
        "loggers": {"console": {"config": {"log_level": "INFO"}}},
    }
    result = ReconcileResult(
        uploads=list(pending.uploads),
        log_days=list(pending.log_days),
        inbox_days=list(pending.inbox_days),
    )
    with dg.DagsterInstance.get() as instance:
        release_abandoned_runs(instance)
        known = set(instance.get_dynamic_partitions(UPLOAD_PARTITIONS_NAME))
        new = [name for name in pending.uploads if name not in known]
        if new:
            instance.add_dynamic_partitions(UPLOAD_PARTITIONS_NAME, new)
        order = list(instance.get_dynamic_partitions(UPLOAD_PARTITIONS_NAME))
        planned = [("ingest_uploads", r) for r in contiguous_ranges(pending.uploads, order)]
        if executor == "in_process":
            planned += [("ingest_event_logs", r) for r in day_ranges(pending.log_days)]
        elif pending.log_days:
            # Parallel engines: one step per day off the warehouse, then one loading step.
            planned.append((STAGED_LOGS_JOB, None))
        planned += [("ingest_api_inbox", r) for r in day_ranges(pending.inbox_days)]
        # The resolution always runs: it also finishes vectors left dirty by an interrupted run.
        planned.append(("resolve_state", None))
        for job_name, partition_range in planned:
            config = run_config
            if job_name == STAGED_LOGS_JOB:
                config = run_config | staged_days_config(pending.log_days)
            record = run_job(defs, instance, job_name, config, partition_range, executor)
            result.runs.append(record)
            if not record.success:
                raise ReconcileFailed(
                    f"run {record.run_id} of job {job_name} ({record.partitions}) failed: "
                    f"{record.error or 'see its logs in the Dagster UI'}"
                )
    return result
