"""`subscription-pipeline worker`: a Celery worker that runs the pipeline's Dagster steps."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from subscription_pipeline import paths
from subscription_pipeline.orchestration.executors import CELERY_QUEUE, broker_url


def worker_dagster_home() -> Path:
    """The instance the worker writes step events to: DAGSTER_HOME, else the repo's folder
    (the same default `reconcile` uses), absolute as Dagster requires."""
    home = paths.default_dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def worker_command(
    name: str | None,
    concurrency: int,
    loglevel: str = "INFO",
    max_tasks_per_child: int | None = None,
) -> list[str]:
    """The `celery worker` command line; the broker comes from the environment, checked here."""
    broker_url()  # fail now with a clear message rather than inside Celery
    node = f"{name or 'pipeline'}@{socket.gethostname()}"
    # A fresh process every N steps returns DuckDB's and Python's memory to the system.
    recycle = ["--max-tasks-per-child", str(max_tasks_per_child)] if max_tasks_per_child else []
    return [
        str(Path(sys.executable).parent / "celery"),
        "-A",
        "subscription_pipeline.orchestration.celery_app",
        "worker",
        "--hostname",
        node,
        "--queues",
        CELERY_QUEUE,
        "--concurrency",
        str(concurrency),
        # One task at a time per process: a long partition must not hold queued steps hostage.
        "--prefetch-multiplier",
        "1",
        "--loglevel",
        loglevel,
        # Steps are Dagster's to retry; no remote control traffic needed between workers.
        "--without-gossip",
        "--without-mingle",
        *recycle,
    ]
