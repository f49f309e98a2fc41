"""While a reconcile runs, the instance's SQLite files are written with fewer fsyncs, and stay
the files Dagster itself would have written (orchestration/sqlite_files.py)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.events.log import EventLogEntry

from subscription_pipeline.orchestration.instance import open_instance
from subscription_pipeline.orchestration.sqlite_files import sqlite_files_kept_open

FULL, NORMAL = 2, 1


def _synchronous(path: Path) -> int:
    """The `synchronous` level of a new SQLAlchemy connection to `path`, as Dagster opens them."""
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("PRAGMA synchronous")).scalar_one()
    finally:
        engine.dispose()


def _store_message(instance: dg.DagsterInstance, run_id: str, text: str) -> None:
    entry = EventLogEntry(
        error_info=None, level=20, user_message=text, run_id=run_id, timestamp=time.time()
    )
    instance.event_log_storage.store_event(entry)


def _schema(path: Path) -> tuple[list[tuple], list[tuple]]:
    con = sqlite3.connect(path)
    try:
        objects = con.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY 2"
        ).fetchall()
        stamp = con.execute("SELECT * FROM alembic_version").fetchall()
    finally:
        con.close()
    return objects, stamp


def test_only_the_instance_files_commit_without_sync_and_only_while_kept_open(
    dagster_home: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    with open_instance() as instance:
        index = Path(instance.event_log_storage.path_for_shard("index"))
        runs = dagster_home / "history" / "runs.db"
        assert _synchronous(index) == FULL
        with sqlite_files_kept_open(instance):
            assert _synchronous(index) == NORMAL
            assert _synchronous(runs) == NORMAL
            assert _synchronous(other) == FULL  # another SQLite file of the process
        assert _synchronous(index) == FULL
        assert _synchronous(runs) == FULL


def test_a_run_database_created_in_wal_mode_has_dagsters_schema(dagster_home: Path) -> None:
    with open_instance() as instance:
        storage = instance.event_log_storage
        _store_message(instance, "run-made-by-dagster", "first")
        with sqlite_files_kept_open(instance) as kept:
            with kept.creating_run("run-prepared"):
                _store_message(instance, "run-prepared", "first")
            assert [e.user_message for e in instance.all_logs("run-prepared")] == ["first"]
        prepared = Path(storage.path_for_shard("run-prepared"))
        assert _schema(prepared) == _schema(Path(storage.path_for_shard("run-made-by-dagster")))
        con = sqlite3.connect(prepared)
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        con.close()


def test_closes_are_plain_while_kept_open_and_the_wal_is_folded_in_at_the_end(
    dagster_home: Path,
) -> None:
    with open_instance() as instance:
        with sqlite_files_kept_open(instance) as kept:
            with kept.creating_run("run-1"):
                pass
            wal = Path(instance.event_log_storage.path_for_shard("run-1") + "-wal")
            for n in range(3):
                _store_message(instance, "run-1", f"event {n}")
                # Dagster's connection is closed after each write: no checkpoint, WAL kept.
                assert wal.exists() and wal.stat().st_size > 0
        # The last connection closed: SQLite checkpointed the WAL into the database.
        assert not wal.exists()
        assert len(instance.all_logs("run-1")) == 3


def test_a_run_that_is_not_created_leaves_no_database(dagster_home: Path) -> None:
    with open_instance() as instance, sqlite_files_kept_open(instance) as kept:
        path = Path(instance.event_log_storage.path_for_shard("run-refused"))
        with pytest.raises(ValueError, match="refused"), kept.creating_run("run-refused"):
            assert path.exists()
            raise ValueError("refused")
        assert not path.exists()
        assert instance.event_log_storage.get_all_run_ids() == []
