"""Which engine runs a job's steps: in this process, in local processes, or on Celery workers.

One executor definition with a selector, so a job launched from the UI picks its engine in the
run config (`execution: {config: {celery: {}}}`) and the CLI passes the same choice.
"""

from __future__ import annotations

import os

import dagster as dg
from dagster._core.definitions.executor_definition import (
    _core_in_process_executor_creation,
    _core_multiprocess_executor_creation,
)
from dagster._core.execution.retries import RetryMode
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor

# Celery's 'rpc://' result backend (dagster-celery's default) needs an AMQP broker: with Redis,
# results go to the broker's Redis unless a backend is named.
_CELERY_CONFIG = CELERY_CONFIG | {
    "backend": dg.Field(
        dg.Noneable(dg.StringSource),
        is_required=False,
        description="Celery result backend URL (default: the broker's URL).",
    )
}
EXECUTORS = ("in_process", "multiprocess", "celery")
BROKER_ENV = "SUBSCRIPTION_BROKER_URL"
# The engine of runs launched without an `execution` section (UI, sensor, schedule); a
# deployment sets it to 'celery' on every machine.
DEFAULT_EXECUTOR_ENV = "SUBSCRIPTION_EXECUTOR"
CELERY_QUEUE = "dagster"  # dagster-celery's own queue name; workers listen on it


class BrokerNotConfiguredError(RuntimeError):
    """The Celery executor was chosen without a broker URL."""


def broker_url() -> str:
    url = os.environ.get(BROKER_ENV, "").strip()
    if not url:
        raise BrokerNotConfiguredError(
            f"the celery executor needs a broker: set {BROKER_ENV} (e.g. redis://127.0.0.1:6379/0)"
        )
    return url


def default_executor() -> str:
    """SUBSCRIPTION_EXECUTOR, else Dagster's own default for a launched run (multiprocess)."""
    name = os.environ.get(DEFAULT_EXECUTOR_ENV, "").strip() or "multiprocess"
    if name not in EXECUTORS:
        raise ValueError(f"{DEFAULT_EXECUTOR_ENV}={name!r}: choose one of {', '.join(EXECUTORS)}")
    return name


def celery_app_args(broker: str | None = None, backend: str | None = None) -> dict:
    """Celery settings shared by the submitting run and the workers: one place, one truth.

    The result backend defaults to the broker (Redis serves both); Celery's 'rpc://' default
    needs an AMQP broker.
    """
    broker = broker or broker_url()
    executor = CeleryExecutor.for_cli(broker=broker, backend=backend or broker)
    return executor.app_args()


@dg.executor(
    name="subscription_pipeline",
    config_schema=dg.Field(
        dg.Selector(
            {
                "in_process": dg.Field(dict, is_required=False),
                "multiprocess": dg.Field(
                    {"max_concurrent": dg.Field(dg.Noneable(int), is_required=False)},
                    is_required=False,
                ),
                "celery": dg.Field(_CELERY_CONFIG, is_required=False),
            }
        ),
        default_value={default_executor(): {}},
    ),
    requirements=dg.multiple_process_executor_requirements(),
)
def pipeline_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    kind, config = next(iter(init_context.executor_config.items()))
    config = dict(config or {})
    retries = {"enabled": {}}
    if kind == "in_process":
        return _core_in_process_executor_creation({"retries": retries})
    if kind == "multiprocess":
        return _core_multiprocess_executor_creation(
            {"max_concurrent": config.get("max_concurrent"), "retries": retries}
        )
    args = celery_app_args(config.get("broker"), config.get("backend"))
    return CeleryExecutor(
        retries=RetryMode.from_config(config.get("retries") or {"enabled": {}}),
        broker=args["broker"],
        backend=args["backend"],
        include=config.get("include"),
        config_source=config.get("config_source"),
    )


def execution_config(executor: str) -> dict:
    """The run config section that selects `executor` on `pipeline_executor`."""
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    return {"execution": {"config": {executor: {}}}}
