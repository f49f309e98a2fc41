"""The project's Dagster instance, created by one process at a time.

Dagster creates its SQLite tables and stamps their alembic revision the first time a process
opens a fresh DAGSTER_HOME, without a lock: two reconciles started together on a new home could
both create `secondary_indexes`, or leave two alembic heads that break every later start. Opening
the instance under an exclusive file lock makes the second process wait until the first has
finished creating it; afterwards the lock only costs one `flock` call.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from subscription_pipeline import paths

if TYPE_CHECKING:
    import dagster as dg

# The code location the UI, the daemon and the CLI's runs share (`dagster dev -m ...`).
DEFINITIONS_MODULE = "subscription_pipeline.definitions"
LOCK_NAME = ".instance.lock"
LOCK_WAIT_SECONDS = 300.0


class InstanceUnavailable(RuntimeError):
    """The Dagster instance could not be opened (a held lock, a broken storage)."""


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME must be absolute: default to the repo's dagster_home/ folder."""
    home = paths.default_dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@contextlib.contextmanager
def creation_lock(home: Path, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold an exclusive lock on home/.instance.lock (released by the OS if the process dies)."""
    with open(home / LOCK_NAME, "a") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise InstanceUnavailable(
                        f"another process has been creating the Dagster instance at {home} "
                        f"for over {wait_seconds:.0f} s ({home / LOCK_NAME})"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_instance(wait_seconds: float = LOCK_WAIT_SECONDS) -> dg.DagsterInstance:
    """The instance at DAGSTER_HOME (default: the repo's), created under the lock if new.

    The caller closes it (`with open_instance() as instance:`).
    """
    import dagster as dg

    home = ensure_dagster_home()
    with creation_lock(home, wait_seconds):
        try:
            return dg.DagsterInstance.get()
        except Exception as exc:  # a storage Dagster cannot open: one line, not a traceback
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InstanceUnavailable(
                f"cannot open the Dagster instance at {home}: {type(exc).__name__}: {first_line}"
            ) from exc
