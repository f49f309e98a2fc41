"""Run a job of the project's definitions in this process, as the UI's code location's run.

`job.execute_in_process` records a run with no remote origin: the UI lists it under Runs but not
under its job nor on the Overview timeline, and "Re-execute" fails (`CheckError: Expected non-None
value` on `remote_job_origin`). Here the run is created with the origins the webserver and the
daemon give the code location `dagster dev -m subscription_pipeline.definitions` loads (location
name = module name, repository `__repository__`), then executed in this process with the
in-process executor. A re-execution from the UI then runs in the code location as any other run,
with the same run config (paths, region, executor).

Dagster has no public API to create a run for a code location without loading that location in
a gRPC server (seconds at every start), so this uses three internal names, pinned by the lock
file and covered by tests/test_runs_in_ui.py.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.execution.api import execute_run
from dagster._core.remote_origin import RemoteRepositoryOrigin
from dagster._core.workspace.load import location_origin_from_module_name

from subscription_pipeline.orchestration.instance import DEFINITIONS_MODULE
from subscription_pipeline.orchestration.sqlite_files import SqliteFilesKeptOpen

DEFINITIONS_ATTRIBUTE = "defs"
# The name Dagster gives the one repository a `Definitions` object makes.
REPOSITORY_NAME = "__repository__"


@dataclass(frozen=True)
class LaunchedRun:
    run_id: str
    success: bool
    errors: list[str]


def _repository() -> ReconstructableRepository:
    return ReconstructableRepository.for_module(DEFINITIONS_MODULE, DEFINITIONS_ATTRIBUTE)


def remote_repository_origin() -> RemoteRepositoryOrigin:
    """Where the UI finds the job: what `dagster dev -m subscription_pipeline.definitions` loads."""
    location = location_origin_from_module_name(DEFINITIONS_MODULE, None, None)
    return RemoteRepositoryOrigin(location, REPOSITORY_NAME)


def execute_job_run(
    instance: dg.DagsterInstance,
    job_name: str,
    run_config: Mapping[str, object],
    tags: Mapping[str, str],
    execution: Mapping[str, object],
    kept_open: SqliteFilesKeptOpen | None = None,
) -> LaunchedRun:
    """Create the run with its remote and code origins, then execute it here; never raises on a
    step failure (the run records it). `kept_open`: the instance's SQLite files held open by the
    caller (orchestration/sqlite_files.py), which then also prepares the run's own."""
    job = _repository().get_reconstructable_job(job_name)
    job_def = job.get_definition()
    config = {**run_config, **execution}
    run_id = str(uuid.uuid4())  # as Dagster makes them
    with kept_open.creating_run(run_id) if kept_open else contextlib.nullcontext():
        run = instance.create_run_for_job(
            run_id=run_id,
            job_def=job_def,
            run_config=config,
            tags={**job_def.run_tags, **tags},
            remote_job_origin=remote_repository_origin().get_job_origin(job_name),
            job_code_origin=job.get_python_origin(),
        )
    result = execute_run(job, run, instance, raise_on_error=False)
    errors = [
        event.step_failure_data.error.message.strip()
        for event in result.all_events
        if event.is_step_failure and event.step_failure_data.error
    ]
    return LaunchedRun(run.run_id, result.success, errors)
