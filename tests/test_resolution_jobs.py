"""The resolution's bucket steps as a Dagster job under the multiprocess executor write the
tables of the in-process resolution."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from subscription_pipeline import paths
from subscription_pipeline.orchestration import runner
from subscription_pipeline.orchestration.executors import execution_config
from subscription_pipeline.orchestration.launch import execute_job_run
from subscription_pipeline.orchestration.runner import (
    resolution_bucket_steps,
    resolve_in_bucket_steps,
)
from subscription_pipeline.resolve.engine import FULL_REBUILD_MIN_VECTORS, resolve_pending
from subscription_pipeline.resolve.fan_out import staging_dir
from subscription_pipeline.warehouse.connection import connect, connect_engine
from tests.test_resolution_paths import ingest_everything, outputs
from tests.test_scale_out import ONE_NIGHT_STORIES, assert_same_tables, copy_zone


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_bucket_steps_under_multiprocess_give_the_in_process_tables(
    dagster_home: Path, sample_landing_zone: Path, tmp_path: Path
) -> None:
    fanned = tmp_path / "fanned" / "warehouse.duckdb"
    fanned.parent.mkdir()
    con = connect_engine(fanned)
    ingest_everything(con, sample_landing_zone)
    con.close()
    # The same ingested engine, resolved in process.
    alone = tmp_path / "alone.duckdb"
    shutil.copy(paths.engine_warehouse(fanned), alone)
    con = connect(alone)
    resolve_pending(con)
    expected = outputs(con)
    con.close()
    assert not resolve_in_bucket_steps(fanned, 3)  # the sample is small: one step would do

    run_config = {
        "resources": {
            "warehouse": {
                "config": {"data_dir": str(sample_landing_zone), "warehouse": str(fanned)}
            }
        },
        "ops": {"plan_resolution_buckets": {"config": {"buckets": 3, "min_vectors": 0}}},
    }
    with dg.DagsterInstance.get() as instance:
        run = execute_job_run(
            instance, "resolve_in_buckets", run_config, {}, execution_config("multiprocess")
        )
        assert run.success, run.errors
        steps = {
            event.step_key
            for event in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
        }
    assert {f"resolve_bucket_step[bucket_{b}]" for b in range(3)} <= steps
    assert not staging_dir(sample_landing_zone).exists()  # loaded, then removed

    con = connect(paths.engine_warehouse(fanned))
    [(dirty, planned)] = con.execute(
        "SELECT (SELECT count(*) FROM dirty_vectors), (SELECT count(*) FROM resolution_buckets)"
    ).fetchall()
    assert (dirty, planned) == (0, 0)
    assert outputs(con) == expected
    con.close()


def test_reconcile_fans_out_only_when_configured_and_many_vectors_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    con = connect_engine(warehouse)
    con.execute(
        "INSERT INTO dirty_vectors SELECT 'email', 'c' || i || '@example.com' FROM range(?) t(i)",
        [FULL_REBUILD_MIN_VECTORS - 1],
    )
    con.close()
    assert not resolve_in_bucket_steps(warehouse, 4)  # few: one step
    con = connect_engine(warehouse)
    con.execute("INSERT INTO dirty_vectors VALUES ('sms', '+14155550101')")
    con.close()
    assert resolve_in_bucket_steps(warehouse, 4)
    assert not resolve_in_bucket_steps(warehouse, 0)  # not configured: one step

    monkeypatch.delenv("SUBSCRIPTION_RESOLUTION_BUCKETS", raising=False)
    assert resolution_bucket_steps() == 0
    monkeypatch.setenv("SUBSCRIPTION_RESOLUTION_BUCKETS", "8")
    assert resolution_bucket_steps() == 8
    monkeypatch.setenv("SUBSCRIPTION_RESOLUTION_BUCKETS", "many")
    with pytest.raises(ValueError, match="SUBSCRIPTION_RESOLUTION_BUCKETS='many'"):
        resolution_bucket_steps()


@pytest.fixture
def in_process_warehouse(dagster_home: Path, sample_landing_zone: Path, tmp_path: Path) -> Path:
    zone = copy_zone(sample_landing_zone, tmp_path / "in_process")
    runner.reconcile(zone, zone / "warehouse.duckdb")
    return zone / "warehouse.duckdb"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_reconcile_with_bucket_steps_gives_the_in_process_tables(
    dagster_home: Path,
    sample_landing_zone: Path,
    tmp_path: Path,
    in_process_warehouse: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """reconcile --executor multiprocess with SUBSCRIPTION_RESOLUTION_BUCKETS runs the bucket
    steps, then resolve_state, and ends in the in-process reconcile's tables."""
    monkeypatch.setenv("SUBSCRIPTION_RESOLUTION_BUCKETS", "3")
    monkeypatch.setattr(runner, "FULL_REBUILD_MIN_VECTORS", 1)  # the sample is small
    zone = copy_zone(sample_landing_zone, tmp_path / "buckets")
    result = runner.reconcile(zone, zone / "warehouse.duckdb", executor="multiprocess")
    jobs = [record.job for record in result.runs]
    assert jobs[-2:] == ["resolve_in_buckets", "resolve_state"]
    assert all(record.success for record in result.runs)
    assert_same_tables(in_process_warehouse, zone / "warehouse.duckdb", ONE_NIGHT_STORIES)
