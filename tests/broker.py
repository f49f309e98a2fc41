"""Test helpers: a Redis broker and Celery workers as real subprocesses, always stopped."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from subscription_pipeline.orchestration.executors import BROKER_ENV

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def redis_broker(work_dir: Path) -> Iterator[str]:
    """The broker URL: CI's (SUBSCRIPTION_BROKER_URL, a Redis db of our own), else a fresh one."""
    existing = os.environ.get(BROKER_ENV)
    if existing:
        yield existing
        return
    binary = shutil.which("redis-server")
    assert binary, "caller must skip when redis-server is missing"
    port = free_port()
    log = (work_dir / "redis.log").open("w")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def accepting() -> bool:
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", port)) == 0

        _wait_for(accepting, 30, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)
        log.close()


@dataclass(frozen=True)
class Worker:
    log: Path
    pid: int  # the Celery parent process (the CLI execs into it)


@contextmanager
def celery_workers(
    names: list[str],
    env: dict[str, str],
    log_dir: Path,
    timeout: float = 180,
    extra_args: tuple[str, ...] = (),
) -> Iterator[dict[str, Worker]]:
    """`subscription-pipeline worker --name N` for each name; yields each worker's log and pid."""
    logs = {name: log_dir / f"worker-{name}.log" for name in names}
    processes: list[subprocess.Popen] = []
    handles = []
    try:
        for name in names:
            handle = logs[name].open("w")
            handles.append(handle)
            processes.append(
                subprocess.Popen(
                    [VENV_BIN / "subscription-pipeline", "worker", "--name", name, *extra_args],
                    env=env,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                )
            )
        for name, process in zip(names, processes, strict=True):

            def ready(name: str = name, process: subprocess.Popen = process) -> bool:
                if process.poll() is not None:
                    raise RuntimeError(f"worker {name} exited: {logs[name].read_text()[-2000:]}")
                return " ready." in logs[name].read_text()

            _wait_for(ready, timeout, f"worker {name}")
        yield {name: Worker(logs[name], p.pid) for name, p in zip(names, processes, strict=True)}
    finally:
        for process in processes:
            _stop(process)
        for handle in handles:
            handle.close()
