"""The Dagster instance's SQLite files while a reconcile writes to them: fewer fsyncs.

Dagster's SQLite storages open a new connection for every read and write and close it after
(a run stores 30 to 60 events, and each step claims and frees its pool slot). Each such write
waited for several fsyncs, milliseconds each on a disk busy with DuckDB's writes:
- In WAL mode the last connection to close a database checkpoints it (copies the WAL into the
  database, syncs both, deletes the WAL). One idle connection of this process, held open, makes
  every other close a plain close; SQLite still checkpoints when the WAL passes 1000 pages.
- A new run's database is created in rollback-journal mode (about 20 tables and indexes, each
  its own transaction with a journal file created, synced and deleted) and only then switched to
  WAL. Created in WAL mode first, each of those is one write.
- With `synchronous=FULL` (SQLite's default) every commit syncs the WAL, and the WAL opened anew
  by every connection syncs its folder too. This process's connections to the instance's files
  use `synchronous=NORMAL`, SQLite's recommended setting for WAL: the database stays consistent
  whatever happens, an application crash loses nothing, and a power cut or OS crash may roll
  back the last events written before it (the run is then shown as it was slightly earlier;
  a run left "started" is failed by the next reconcile). The UI and daemon keep Dagster's own.

Measured in docs/benchmarks.md, "Dagster's cost outside steps (session 6)". An optimisation
only: with another storage (Postgres) or an unexpected layout it does nothing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlalchemy import event
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    import dagster as dg


class SqliteFilesKeptOpen:
    """One idle connection per SQLite file of the instance that this process writes to."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
            INDEX_SHARD_NAME,
            SqliteEventLogStorage,
        )

        self._connections: dict[str, sqlite3.Connection] = {}
        storage = instance.event_log_storage
        self._event_log = storage if isinstance(storage, SqliteEventLogStorage) else None
        runs = _sqlite_path(getattr(instance.run_storage, "_conn_string", None))
        # The files whose connections commit without a sync: the run database and the event
        # log's folder (its index and one database per run).
        self._relaxed_files = {os.path.realpath(runs)} if runs else set()
        self._relaxed_folders: set[str] = set()
        if self._event_log is not None:
            index = self._event_log.path_for_shard(INDEX_SHARD_NAME)
            self._relaxed_folders.add(os.path.dirname(os.path.realpath(index)))
            self.keep(index)
        self.keep(runs)
        event.listen(Engine, "connect", self._on_connect)

    def _on_connect(self, dbapi_connection: object, _record: object) -> None:
        """Every new SQLAlchemy connection of this process: relax syncs if it is the instance's."""
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        files = dbapi_connection.execute("PRAGMA database_list").fetchall()
        path = os.path.realpath(next((file for _, name, file in files if name == "main"), ""))
        if path in self._relaxed_files or os.path.dirname(path) in self._relaxed_folders:
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    def keep(self, path: str | None) -> None:
        if not path or path in self._connections or not os.path.exists(path):
            return
        try:
            # Read-write without creating: a read maps the WAL index, and the open connection
            # then tells the others that they are not the last (it holds no lock in between).
            connection = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=1.0)
            connection.execute("PRAGMA schema_version").fetchall()
        except sqlite3.Error:
            return
        self._connections[path] = connection

    @contextlib.contextmanager
    def creating_run(self, run_id: str) -> Iterator[None]:
        """Around the creation of run `run_id`: its event database is created in WAL mode first,
        and removed again if the run is not created (a run config Dagster refuses).

        Dagster switches a new run database to WAL only after creating its ~20 tables and
        indexes, each its own transaction in rollback-journal mode (a journal file created,
        synced and deleted, the folder synced): about 60 fsyncs per run. In WAL mode each is one.
        The tables, indexes and their alembic stamp are Dagster's, as before.
        """
        path = self._event_log.path_for_shard(run_id) if self._event_log else None
        created = path is not None and not os.path.exists(path) and self._create_wal(path)
        if not created:
            self.keep(path)
        try:
            yield
        except BaseException:
            if created and path:
                self._connections.pop(path).close()
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(path + suffix)
            raise

    def _create_wal(self, path: str) -> bool:
        try:
            connection = sqlite3.connect(path, timeout=1.0)
            connection.execute("PRAGMA journal_mode=WAL").fetchall()
            connection.execute("PRAGMA schema_version").fetchall()
        except sqlite3.Error:
            return False
        self._connections[path] = connection
        return True

    def close(self) -> None:
        if event.contains(Engine, "connect", self._on_connect):
            event.remove(Engine, "connect", self._on_connect)
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()


def _sqlite_path(conn_string: str | None) -> str | None:
    prefix = "sqlite:///"
    if not conn_string or not conn_string.startswith(prefix):
        return None
    return conn_string.removeprefix(prefix).split("?", 1)[0]


@contextlib.contextmanager
def sqlite_files_kept_open(instance: dg.DagsterInstance) -> Iterator[SqliteFilesKeptOpen]:
    kept = SqliteFilesKeptOpen(instance)
    try:
        yield kept
    finally:
        kept.close()
