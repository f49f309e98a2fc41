"""A reconcile with nothing new launches no run, unless the last resolution must be finished."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from subscription_pipeline.orchestration.runner import reconcile
from subscription_pipeline.paths import engine_warehouse
from subscription_pipeline.warehouse.connection import connect


def _run_ids() -> set[str]:
    with dg.DagsterInstance.get() as instance:
        return {run.run_id for run in instance.get_runs()}


def _observations() -> int:
    with dg.DagsterInstance.get() as instance:
        return len(
            instance.fetch_observations(dg.AssetKey("subscription_state"), limit=100).records
        )


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_nothing_new_launches_no_run_but_an_unfinished_resolution_does(
    dagster_home: Path, sample_landing_zone: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    first = reconcile(sample_landing_zone, warehouse)
    assert first.runs and not first.nothing_to_do
    runs = _run_ids()

    quiet = reconcile(sample_landing_zone, warehouse)
    assert quiet.nothing_to_do and quiet.runs == []
    assert _run_ids() == runs
    assert _observations() == 1  # the night is on the state's record in the UI

    # The last resolution failed (say its export hit a full disk): the next reconcile resolves.
    with dg.DagsterInstance.get() as instance:
        [resolve] = instance.get_runs(filters=dg.RunsFilter(job_name="resolve_state"), limit=1)
        instance.report_run_failed(resolve, message="planted: the export failed")
    retried = reconcile(sample_landing_zone, warehouse)
    assert [run.job for run in retried.runs] == ["resolve_state"]
    assert all(run.success for run in retried.runs)

    # A vector left dirty (a resolution interrupted before it committed) is resolved too: in the
    # engine file, the one the pipeline writes (the warehouse path is the analysts' copy).
    con = connect(engine_warehouse(warehouse))
    con.execute("INSERT INTO dirty_vectors SELECT channel, contact FROM subscription_state LIMIT 1")
    con.close()
    resumed = reconcile(sample_landing_zone, warehouse)
    assert [run.job for run in resumed.runs] == ["resolve_state"]

    # Another warehouse on the same instance has no resolution of its own yet: it runs.
    other = reconcile(sample_landing_zone, tmp_path / "other.duckdb")
    assert other.runs and not other.nothing_to_do
