"""The resolution as export, bucket steps off the warehouse and a loader writes the in-process
tables; input arriving while the bucket steps run stays queued for the next run."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subscription_pipeline.resolve import fan_out
from subscription_pipeline.resolve.engine import resolve_all, resolve_pending
from subscription_pipeline.warehouse.connection import connect
from tests.resolution_helpers import insert_observations
from tests.test_resolution_buckets import _fold_tables, _queues, _record, _tables
from tests.test_resolution_properties import histories


def _fan_out(con: duckdb.DuckDBPyConnection, data_dir: Path, count: int, **load) -> None:
    plan = fan_out.plan_fan_out(con, data_dir, count=count)
    if plan.buckets == 1:  # nothing queued: one bucket, resolved in place
        resolve_pending(con)
        return
    for bucket in plan.remaining:
        fan_out.compute_bucket(data_dir, bucket)
    fan_out.load_buckets(con, data_dir, **load)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=histories("mixed"), more=histories("mixed"), count=st.integers(2, 4))
def test_fan_out_writes_the_in_process_tables(rows, more, count) -> None:
    more = [r for r in more if _record(r) not in {_record(old) for old in rows}]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        con = connect(data_dir / "w.duckdb", threads=1)
        insert_observations(con, rows)
        resolve_all(con, buckets=count)  # a rebuild plan...
        insert_observations(con, more)
        _fan_out(con, data_dir, count)  # ...then an incremental one through the fan-out
        assert _queues(con) == (0, 0)
        assert _tables(con) == _fold_tables(rows + more)
        assert not fan_out.staging_dir(data_dir).exists()
        con.close()


def test_input_queued_during_the_bucket_steps_stays_for_the_next_run(tmp_path) -> None:
    from tests.test_resolution_buckets import _sample_rows

    first, late = _sample_rows(0, 30), _sample_rows(30, 40)
    con = connect(tmp_path / "w.duckdb", threads=1)
    insert_observations(con, first)
    plan = fan_out.plan_fan_out(con, tmp_path, count=3)
    assert plan.buckets == 3 and not plan.rebuild
    for bucket in plan.remaining:
        fan_out.compute_bucket(tmp_path, bucket)
    insert_observations(con, late)  # an ingestion between the export and the loader
    fan_out.load_buckets(con, tmp_path)
    assert _queues(con)[1] == 0  # the plan is written...
    assert _queues(con)[0] > 0  # ...but no vector left the queue: some changed since the export
    resolve_pending(con)
    assert _queues(con) == (0, 0)
    assert _tables(con) == _fold_tables(first + late)
    con.close()


def test_a_bucket_step_never_opens_the_warehouse(tmp_path) -> None:
    from tests.test_resolution_buckets import _sample_rows

    con = connect(tmp_path / "w.duckdb", threads=1)
    insert_observations(con, _sample_rows(0, 20))
    plan = fan_out.plan_fan_out(con, tmp_path, count=2)
    # The writer keeps the file open (locked) while the bucket steps run.
    rows = fan_out.compute_bucket(tmp_path, plan.remaining[0])
    assert (rows / "state.parquet").exists() and not list(rows.parent.glob(".tmp-*"))
    con.close()


def test_a_contact_erased_after_the_export_does_not_come_back(tmp_path) -> None:
    from tests.test_resolution_buckets import _sample_rows

    con = connect(tmp_path / "w.duckdb", threads=1)
    insert_observations(con, _sample_rows(0, 20))
    plan = fan_out.plan_fan_out(con, tmp_path, count=2)
    for bucket in plan.remaining:
        fan_out.compute_bucket(tmp_path, bucket)
    # As an erasure does between the export and the load: the contact's rows are deleted.
    for table in ("observations", "dirty_vectors", "subscription_state", "history_steps"):
        con.execute(f"DELETE FROM {table} WHERE contact = 'c7@example.com'")  # names above
    fan_out.load_buckets(con, tmp_path)
    for table in ("subscription_state", "subscription_history"):
        [(rows,)] = con.execute(
            f"SELECT count(*) FROM {table} WHERE contact = 'c7@example.com'"
        ).fetchall()
        assert rows == 0
    [(others,)] = con.execute("SELECT count(*) FROM subscription_state").fetchall()
    assert others == 19
    con.close()
