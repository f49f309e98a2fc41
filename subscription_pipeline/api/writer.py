"""Group commit: one writer thread records the queued requests, one fsync for all of them.

Each request is still all or nothing (its own SAVEPOINT) and durable before its answer (the
caller waits until the COMMIT that holds it returned, with `synchronous=FULL`). What requests
queued at the same moment share is the transaction and its fsync: while a disk is busy (a
reconcile writing the warehouse) an fsync can take tens of milliseconds, and paying it once per
request would queue every request behind the others' fsyncs.
A request later in the queue sees the earlier ones' entries (same transaction), so answers are
folded in acceptance order exactly as if each had committed alone.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from subscription_pipeline.api.inbox import open_inbox, write_transaction

log = logging.getLogger("subscription_pipeline.api")
MAX_BATCH = 256

Job = Callable[[sqlite3.Connection], Any]


class GroupCommitWriter:
    def __init__(self, inbox_file: Path) -> None:
        self._con = open_inbox(inbox_file)
        self._queue: queue.Queue[tuple[Job, Future] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> Future:
        """Run `job(connection)` in a write transaction; the future resolves after its COMMIT."""
        future: Future = Future()
        self._queue.put((job, future))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)
        self._con.close()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[tuple[Job, Future]]) -> None:
        outcomes: list[tuple[Future, bool, Any]] = []
        try:
            with write_transaction(self._con):
                for job, future in batch:
                    self._con.execute("SAVEPOINT request")
                    try:
                        result = job(self._con)
                    except Exception as exc:  # this request only; the others commit
                        self._con.execute("ROLLBACK TO request")
                        outcomes.append((future, False, exc))
                    else:
                        outcomes.append((future, True, result))
                    self._con.execute("RELEASE request")
        except Exception as exc:
            log.exception("inbox commit failed: %d requests refused", len(batch))
            for _, future in batch:
                future.set_exception(exc)
            return
        # Answers go out only now that the COMMIT (and its fsync) returned.
        for future, ok, value in outcomes:
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
