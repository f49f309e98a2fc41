"""All-or-nothing writes, shared by the DuckDB warehouse and the two SQLite side files (the API
inbox and the erasure registry), which are written while a reconcile may hold the warehouse."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, TypeVar


class _Executes(Protocol):
    def execute(self, sql: str, /) -> object: ...


C = TypeVar("C", bound=_Executes)


@contextlib.contextmanager
def transaction(con: C, begin: str = "BEGIN TRANSACTION") -> Iterator[C]:
    """All or nothing: a crash or error inside leaves the file as it was. Works on any
    connection in autocommit mode with explicit transactions (DuckDB, SQLite with
    isolation_level=None)."""
    con.execute(begin)
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")


def write_transaction(con: sqlite3.Connection) -> contextlib.AbstractContextManager:
    """SQLite's BEGIN IMMEDIATE: writers are serialised from the first read, so what a write
    computes from the file is what the file holds when it commits."""
    return transaction(con, "BEGIN IMMEDIATE")


def open_sqlite(
    path: Path, schema: str, *, timeout_seconds: float, check_same_thread: bool = True
) -> sqlite3.Connection:
    """A SQLite file in autocommit mode (transactions are explicit), WAL so that readers never
    wait for the writer, and fsync at every commit (synchronous=FULL) so that an acknowledged
    write survives a crash. `timeout_seconds` is SQLite's busy timeout. The schema is applied
    (CREATE ... IF NOT EXISTS)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(
        path, timeout=timeout_seconds, isolation_level=None, check_same_thread=check_same_thread
    )
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.executescript(schema)
    except BaseException:
        con.close()
        raise
    return con
