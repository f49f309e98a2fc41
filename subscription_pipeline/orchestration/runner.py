"""`reconcile`: register new inputs and run them through Dagster on the project's instance.

Runs execute in this process but are recorded on the instance at DAGSTER_HOME as runs of the
UI's code location, so they show under their job and on the timeline next to the sensor's and the
schedule's runs, and can be re-executed from there. Partitions are grouped into contiguous
ranges, one run per range, so a backfill of a year of logs is a handful of runs, not 365.
When nothing is new and the last resolution of the warehouse succeeded, no run is launched.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from subscription_pipeline import paths
from subscription_pipeline.ingest.inbox_pending import pending_inbox_days
from subscription_pipeline.orchestration.executors import broker_url, execution_config
from subscription_pipeline.orchestration.instance import open_instance
from subscription_pipeline.orchestration.partitions import UPLOAD_PARTITIONS_NAME
from subscription_pipeline.orchestration.pending import PendingInputs, find_pending
from subscription_pipeline.orchestration.sqlite_files import (
    SqliteFilesKeptOpen,
    sqlite_files_kept_open,
)
from subscription_pipeline.resolve.engine import FULL_REBUILD_MIN_VECTORS
from subscription_pipeline.warehouse.connection import connect

STAGED_JOB = "stage_inputs"
RESOLVE_IN_BUCKETS_JOB = "resolve_in_buckets"  # orchestration/resolution_jobs.py
RESOLUTION_BUCKETS_ENV = "SUBSCRIPTION_RESOLUTION_BUCKETS"


def bucket_steps_config(buckets: int) -> dict:
    # The runner decided that enough vectors wait: the plan step does not decide again.
    config = {"buckets": buckets, "min_vectors": FULL_REBUILD_MIN_VECTORS}
    return {"ops": {"plan_resolution_buckets": {"config": config}}}


def staged_config(pending: PendingInputs) -> dict:
    """Which partitions `stage_inputs` stages: uploads in their partition order, days sorted."""
    names = {
        "uploads": list(dict.fromkeys(pending.uploads)),
        "days": sorted(set(pending.log_days)),
        "inbox_days": sorted(set(pending.inbox_days)),
    }
    return {"ops": {"partitions_to_stage": {"config": names}}}


RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
LAUNCHED_BY_TAG = "subscription_pipeline/launched_by"
PID_TAG = "subscription_pipeline/pid"
WAREHOUSE_TAG = "subscription_pipeline/warehouse"
RESOLVE_JOB = "resolve_state"


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
    # True when nothing was new and the last resolution stands: no run was launched.
    nothing_to_do: bool = False


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
    instance: dg.DagsterInstance,
    job_name: str,
    run_config: dict,
    warehouse: Path,
    partition_range: tuple[str, str] | None = None,
    executor: str = "in_process",
    kept_open: SqliteFilesKeptOpen | None = None,
) -> RunRecord:
    # Imported here: it loads the definitions (every asset's modules), which a reconcile with
    # nothing to do never needs.
    from subscription_pipeline.orchestration.launch import execute_job_run

    tags = {LAUNCHED_BY_TAG: "reconcile", PID_TAG: str(os.getpid()), WAREHOUSE_TAG: str(warehouse)}
    if partition_range:
        tags |= {RANGE_START_TAG: partition_range[0], RANGE_END_TAG: partition_range[1]}
    launched = execute_job_run(
        instance,
        job_name,
        run_config,
        tags,
        execution_config(executor),
        kept_open=kept_open,
    )
    label = f"{partition_range[0]}..{partition_range[1]}" if partition_range else "-"
    return RunRecord(job_name, label, launched.run_id, launched.success, "; ".join(launched.errors))


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
        if run.parent_run_id:
            continue  # a re-execution from the UI inherits the tags but runs in the code location
        pid = run.tags.get(PID_TAG)
        if pid and pid.isdigit() and not _process_alive(int(pid)):
            instance.report_run_failed(run, message=f"reconcile process {pid} died mid-run")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            released.append(run.run_id)
    return released


def waiting_resolution(warehouse: Path) -> tuple[int, int] | None:
    """(dirty_vectors rows, planned buckets) of the engine file; None before it exists."""
    engine = paths.engine_warehouse(warehouse)
    if not engine.exists():
        return None
    con = connect(engine, read_only=True)
    try:
        tables = {name for (name,) in con.execute("SHOW TABLES").fetchall()}
        if "dirty_vectors" not in tables:
            return None
        [(dirty,)] = con.execute("SELECT count(*) FROM dirty_vectors").fetchall()
        planned = 0
        if "resolution_buckets" in tables:  # an interrupted resolution's buckets to write
            [(planned,)] = con.execute("SELECT count(*) FROM resolution_buckets").fetchall()
    finally:
        con.close()
    return dirty, planned


def nothing_dirty(warehouse: Path) -> bool:
    """The engine file exists and no contact vector (nor bucket) waits for its resolution."""
    return waiting_resolution(warehouse) == (0, 0)


def resolution_bucket_steps() -> int:
    """SUBSCRIPTION_RESOLUTION_BUCKETS: bucket steps of a fanned-out resolution; 0 (default):
    the resolution stays one step (docs/scale-out.md: at 2M observations on one machine the
    fan-out's export and load cost more than the replay it spreads)."""
    value = os.environ.get(RESOLUTION_BUCKETS_ENV, "").strip() or "0"
    if not value.isdigit():
        raise ValueError(f"{RESOLUTION_BUCKETS_ENV}={value!r}: a number of buckets (0: off)")
    return int(value)


def resolve_in_bucket_steps(warehouse: Path, buckets: int) -> bool:
    """Fan the resolution out (parallel engines only): `buckets` >= 2 and many dirty vectors.
    An interrupted plan needs no fan-out: resolve_state writes its buckets in process."""
    waiting = waiting_resolution(warehouse)
    return buckets >= 2 and waiting is not None and waiting[0] >= FULL_REBUILD_MIN_VECTORS


def last_resolution_succeeded(instance: dg.DagsterInstance, warehouse: Path) -> bool:
    """The latest resolve run for this warehouse (the CLI's, or its re-execution) succeeded.

    Its checks, error reports, report and exports all ran then: a failed export is retried by
    the next reconcile even when no input is new.
    """
    latest = instance.get_runs(
        filters=dg.RunsFilter(job_name=RESOLVE_JOB, tags={WAREHOUSE_TAG: str(warehouse)}), limit=1
    )
    return bool(latest) and latest[0].status == dg.DagsterRunStatus.SUCCESS


def record_nothing_to_do(instance: dg.DagsterInstance, warehouse: Path) -> None:
    """An observation of the state in the UI's asset events: the night ran, found nothing new.

    An observation, not a materialization: the state was not recomputed, and automation
    conditions downstream must not fire on it.
    """
    instance.report_runless_asset_event(
        dg.AssetObservation(
            asset_key="subscription_state",
            description="reconcile: no new or changed input, last resolution stands; no run",
            metadata={"warehouse": dg.MetadataValue.path(str(warehouse))},
        )
    )


def reconcile(
    data_dir: Path, warehouse: Path, default_region: str = "US", executor: str = "in_process"
) -> ReconcileResult:
    """Ingest what is new or changed since the ledger last saw it, then resolve.

    With nothing new, nothing dirty and the last resolution a success, no run is launched
    (Dagster's fixed cost of a run is seconds); an observation records the night instead.
    """
    pending = find_pending(data_dir, warehouse)
    quiet = not (pending.uploads or pending.log_days or pending.inbox_days)
    return run_partitions(
        data_dir,
        warehouse,
        pending,
        default_region,
        executor,
        skip_if_resolved=quiet and nothing_dirty(warehouse),
    )


def backfill(
    data_dir: Path,
    warehouse: Path,
    *,
    uploads: list[str],
    log_days: list[str],
    inbox_days: Iterable[str] = (),
    default_region: str = "US",
    executor: str = "in_process",
) -> ReconcileResult:
    """Re-ingest the named partitions whatever the ledger says (idempotent), then resolve.

    The API inbox is never left out of a resolution: besides the `inbox_days` named, every
    inbox day with entries accepted since its last ingestion is ingested, as `reconcile` does
    (the service has already answered with them)."""
    inbox = sorted({*inbox_days, *pending_inbox_days(data_dir)})
    pending = PendingInputs(uploads, log_days, inbox)
    return run_partitions(data_dir, warehouse, pending, default_region, executor)


def _run_checked(
    result: ReconcileResult,
    instance: dg.DagsterInstance,
    job_name: str,
    config: dict,
    warehouse: Path,
    partition_range: tuple[str, str] | None,
    executor: str,
    kept_open: SqliteFilesKeptOpen | None = None,
) -> None:
    record = run_job(instance, job_name, config, warehouse, partition_range, executor, kept_open)
    result.runs.append(record)
    if not record.success:
        raise ReconcileFailed(
            f"run {record.run_id} of job {job_name} ({record.partitions}) failed: "
            f"{record.error or 'see its logs in the Dagster UI'}"
        )


def plan_runs(
    instance: dg.DagsterInstance, pending: PendingInputs, executor: str
) -> list[tuple[str, tuple[str, str] | None]]:
    """The runs to launch in order, (job, partition range): ingestion, then the resolution."""
    known = set(instance.get_dynamic_partitions(UPLOAD_PARTITIONS_NAME))
    new = [name for name in pending.uploads if name not in known]
    if new:
        instance.add_dynamic_partitions(UPLOAD_PARTITIONS_NAME, new)
    order = list(instance.get_dynamic_partitions(UPLOAD_PARTITIONS_NAME))
    planned: list[tuple[str, tuple[str, str] | None]] = []
    if executor == "in_process":
        planned += [("ingest_uploads", r) for r in contiguous_ranges(pending.uploads, order)]
        planned += [("ingest_event_logs", r) for r in day_ranges(pending.log_days)]
        planned += [("ingest_api_inbox", r) for r in day_ranges(pending.inbox_days)]
    elif pending.uploads or pending.log_days or pending.inbox_days:
        # Parallel engines: one step per partition off the warehouse, then one loading step.
        planned.append((STAGED_JOB, None))
    # The resolution always runs: it also finishes vectors left dirty by an interrupted run.
    planned.append((RESOLVE_JOB, None))
    return planned


def run_partitions(
    data_dir: Path,
    warehouse: Path,
    pending: PendingInputs,
    default_region: str,
    executor: str = "in_process",
    *,
    skip_if_resolved: bool = False,
) -> ReconcileResult:
    if executor == "celery":
        broker_url()  # no broker: one clear error before any run starts
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
    with open_instance() as instance:
        release_abandoned_runs(instance)
        if skip_if_resolved and last_resolution_succeeded(instance, warehouse):
            record_nothing_to_do(instance, warehouse)
            result.nothing_to_do = True
            return result
        with sqlite_files_kept_open(instance) as kept_open:
            for job_name, partition_range in plan_runs(instance, pending, executor):
                # Decided once ingestion queued its vectors: bucket steps first when many wait.
                if job_name == RESOLVE_JOB and executor != "in_process":
                    buckets = resolution_bucket_steps()
                    if resolve_in_bucket_steps(warehouse, buckets):
                        config = run_config | bucket_steps_config(buckets)
                        _run_checked(
                            result,
                            instance,
                            RESOLVE_IN_BUCKETS_JOB,
                            config,
                            warehouse,
                            None,
                            executor,
                            kept_open,
                        )
                config = run_config
                if job_name == STAGED_JOB:
                    config = run_config | staged_config(pending)
                _run_checked(
                    result,
                    instance,
                    job_name,
                    config,
                    warehouse,
                    partition_range,
                    executor,
                    kept_open,
                )
    return result
