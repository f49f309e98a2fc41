"""Runs whose steps leave this process (local processes, Celery workers).

Those steps are rebuilt elsewhere from a module pointer, so the job must be reconstructable
(`subscription_pipeline.definitions:defs`) and the instance persistent (DAGSTER_HOME): the
workers write their step events there.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableRepository

from subscription_pipeline.orchestration.executors import execution_config

DEFINITIONS_MODULE = "subscription_pipeline.definitions"


def execute_elsewhere(
    job_name: str,
    instance: dg.DagsterInstance,
    run_config: dict,
    tags: dict[str, str],
    executor: str,
) -> dg.ExecutionResult:
    """Run `job_name` to its end on `executor`, waiting here; the result as execute_in_process's."""
    job = ReconstructableRepository.for_module(DEFINITIONS_MODULE, "defs").get_reconstructable_job(
        job_name
    )
    return dg.execute_job(
        job,
        instance,
        run_config=run_config | execution_config(executor),
        tags=tags,
        raise_on_error=False,
    )
