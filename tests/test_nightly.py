"""The nightly run alone completes the night: ingestion, resolution, checks, reports, exports
and the API snapshot, in one run over yesterday and today."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from subscription_pipeline.definitions import defs
from subscription_pipeline.orchestration.schedules import RANGE_END_TAG, RANGE_START_TAG
from tests.dagster_runs import AFTER_INGESTION


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_nightly_job_runs_the_whole_chain(sample_landing_zone: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    run_config = {
        "resources": {
            "warehouse": {
                "config": {"data_dir": str(sample_landing_zone), "warehouse": str(warehouse)}
            }
        }
    }
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("nightly").execute_in_process(
            run_config=run_config,
            instance=instance,
            tags={RANGE_START_TAG: "2024-03-04", RANGE_END_TAG: "2024-03-05"},
        )
        assert result.success
        for key in AFTER_INGESTION:
            assert instance.get_latest_materialization_event(dg.AssetKey(key)), key
        checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("subscription_state"), "state_key_unique")]
        )
        assert [c.status.value for c in checks.values()] == ["SUCCEEDED"]
    assert (sample_landing_zone / "snapshot" / "subscription_state.parquet").exists()
    assert (sample_landing_zone / "exports" / "subscription_state.parquet").exists()
    assert (sample_landing_zone / "reports" / "reconciliation_report.md").exists()
