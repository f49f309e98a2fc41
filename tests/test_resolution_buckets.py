"""A resolution in hash buckets, each committed on its own, writes the one-pass tables; a run
interrupted after any bucket is finished by the next run, to the same tables."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subscription_pipeline.resolve.engine import resolve_all, resolve_pending
from subscription_pipeline.warehouse.connection import connect
from tests.reference_fold import fold
from tests.resolution_helpers import (
    HISTORY_COLUMNS,
    STATE_COLUMNS,
    as_tuples,
    insert_observations,
    obs,
    read_tuples,
)
from tests.test_resolution_properties import histories

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NEVER = float("inf")  # full_rebuild_fraction: keep the incremental path


class Interrupted(RuntimeError):
    pass


def _tables(con: duckdb.DuckDBPyConnection) -> tuple[list[tuple], list[tuple]]:
    return (
        read_tuples(con, "subscription_state", STATE_COLUMNS),
        read_tuples(con, "subscription_history", HISTORY_COLUMNS),
    )


def _fold_tables(rows: list[dict[str, Any]]) -> tuple[list[tuple], list[tuple]]:
    state, history = fold(rows)
    return as_tuples(state, STATE_COLUMNS), as_tuples(history, HISTORY_COLUMNS)


def _queues(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    [(dirty, plan)] = con.execute(
        "SELECT (SELECT count(*) FROM dirty_vectors), (SELECT count(*) FROM resolution_buckets)"
    ).fetchall()
    return dirty, plan


def _sample_rows(start: int, stop: int) -> list[dict[str, Any]]:
    """One CSV row per contact c<i>, subscribed (a new row of a new record for each i)."""
    at = datetime(2024, 1, 1)
    return [
        obs("csv", "email", f"c{i}@example.com", "subscribed", at + timedelta(minutes=i), row=i)
        for i in range(start, stop)
    ]


def _record(row: dict[str, Any]) -> tuple:
    return row["source_file"], row["row_number"]


def _interrupt_after(bucket: int):
    def hook(written: int) -> None:
        if written == bucket:
            raise Interrupted(f"crash after bucket {bucket}")

    return hook


@pytest.mark.slow
@SETTINGS
@given(
    rows=histories("mixed"),
    split=st.lists(st.integers(0, 1), min_size=30, max_size=30),
    buckets=st.integers(2, 5),
)
def test_bucketed_resolution_equals_one_pass(rows, split, buckets) -> None:
    """Rebuild and incremental runs in 2-5 buckets give the tables of one pass (and the fold)."""
    # A record (file and line) lands in one batch: ingestion never stores a line twice.
    batch = {}
    for index, row in enumerate(rows):  # histories have <= 30 rows
        batch.setdefault(_record(row), split[index])
    first = [r for r in rows if batch[_record(r)] == 0]
    later = [r for r in rows if batch[_record(r)] == 1]
    with tempfile.TemporaryDirectory() as tmp:
        one = connect(Path(tmp) / "one.duckdb", threads=1)
        many = connect(Path(tmp) / "many.duckdb", threads=1)
        for con, count in ((one, 1), (many, buckets)):
            insert_observations(con, first)
            summary = resolve_all(con, buckets=count)
            assert summary.buckets == count
            insert_observations(con, later)
            resolve_pending(con, full_rebuild_fraction=NEVER, buckets=count)
            assert _queues(con) == (0, 0)
        assert _tables(one) == _fold_tables(rows)
        assert _tables(many) == _tables(one)
        one.close()
        many.close()


@pytest.mark.slow
@SETTINGS
@given(
    rows=histories("mixed"),
    buckets=st.integers(2, 4),
    crash=st.integers(0, 3),
    rebuild=st.booleans(),
    late=histories("mixed"),
)
def test_crash_after_a_bucket_then_rerun_gives_the_uninterrupted_tables(
    rows, buckets, crash, rebuild, late
) -> None:
    """A run that dies after bucket `crash` committed leaves the remaining buckets planned and
    their vectors queued; the next run (even after more input arrived) finishes them."""
    crash = min(crash, buckets - 2)  # the crash leaves at least one bucket to write
    with tempfile.TemporaryDirectory() as tmp:
        con = connect(Path(tmp) / "w.duckdb", threads=1)
        insert_observations(con, rows)
        with pytest.raises(Interrupted):
            if rebuild:
                resolve_all(con, buckets=buckets, after_bucket=_interrupt_after(crash))
            else:
                resolve_pending(
                    con,
                    full_rebuild_fraction=NEVER,
                    buckets=buckets,
                    after_bucket=_interrupt_after(crash),
                )
        remaining = con.execute("SELECT bucket FROM resolution_buckets ORDER BY 1").fetchall()
        assert remaining == [(b,) for b in range(crash + 1, buckets)]
        # Each written bucket cleared only its own dirty vectors.
        [(wrong,)] = con.execute(
            "SELECT count(*) FROM dirty_vectors WHERE hash(channel, contact) % ? <= ?",
            [buckets, crash],
        ).fetchall()
        assert wrong == 0

        # Input of the next night, any bucket (new records only, as ingestion stores them).
        late = [r for r in late if _record(r) not in {_record(old) for old in rows}]
        insert_observations(con, late)
        summary = resolve_pending(con, full_rebuild_fraction=NEVER)
        assert summary.resumed
        assert _queues(con) == (0, 0)
        assert _tables(con) == _fold_tables(rows + late)
        con.close()


def test_a_crash_rolls_back_the_bucket_it_was_writing(tmp_path) -> None:
    """A bucket's transaction is all or nothing: a failure inside it leaves its vectors queued."""
    con = connect(tmp_path / "w.duckdb", threads=1)
    rows = _sample_rows(1, 40)
    insert_observations(con, rows)
    calls = []

    def hook(bucket: int) -> None:
        calls.append(bucket)
        if len(calls) == 2:
            # The plan row of bucket 1 is gone and its vectors cleared: it committed.
            assert (1,) not in con.execute("SELECT bucket FROM resolution_buckets").fetchall()
            raise Interrupted("after bucket 1")

    with pytest.raises(Interrupted):
        resolve_all(con, buckets=3, after_bucket=hook)
    [(written,)] = con.execute(
        "SELECT count(*) FROM subscription_state WHERE hash(channel, contact) % 3 IN (0, 1)"
    ).fetchall()
    [(left,)] = con.execute(
        "SELECT count(*) FROM subscription_state WHERE hash(channel, contact) % 3 = 2"
    ).fetchall()
    assert written > 0 and left == 0
    assert resolve_pending(con).resumed
    assert _tables(con) == _fold_tables(rows)
    con.close()
