"""The Celery app a `subscription-pipeline worker` runs: dagster-celery's step task, our broker.

Celery imports this module by name (`celery -A ...`), so the app is built at import time from
SUBSCRIPTION_BROKER_URL, the same settings the submitting run uses (executors.celery_app_args).
"""

from __future__ import annotations

import logging
import resource

from celery.signals import task_postrun, task_prerun
from dagster._grpc.types import ExecuteStepArgs
from dagster._serdes import unpack_value
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from subscription_pipeline.orchestration.executors import celery_app_args

logger = logging.getLogger("subscription_pipeline.worker")

app = make_app(celery_app_args())
execute_plan = create_task(app)


def _step_label(kwargs: dict | None) -> str:
    """'run <id> step <key>' from a dagster-celery task's arguments; '' for any other task."""
    packed = (kwargs or {}).get("execute_step_args_packed")
    if not packed:
        return ""
    args = unpack_value(packed, as_type=ExecuteStepArgs)
    return f"run {args.run_id} step {', '.join(args.step_keys_to_execute or [])}"


@task_prerun.connect
def _log_step_start(task_id: str, task: object, kwargs: dict | None = None, **_: object) -> None:
    # Celery logs a task's id, not which Dagster step it is: name it, so a worker's log says
    # which steps of which runs it ran.
    label = _step_label(kwargs)
    if label:
        logger.info("starting %s (task %s)", label, task_id)


@task_postrun.connect
def _log_step_end(
    task_id: str, task: object, kwargs: dict | None = None, state: str | None = None, **_: object
) -> None:
    label = _step_label(kwargs)
    if label:
        # Linux reports ru_maxrss in KiB: the peak of this pool process so far.
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        logger.info("finished %s (task %s): %s, peak RSS %d MiB", label, task_id, state, peak_mib)
