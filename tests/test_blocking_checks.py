"""The blocking asset checks stop the exports, the report and the API snapshot in the run where
they fail: nothing that failed them is published."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from subscription_pipeline.api.published_state import Snapshot
from subscription_pipeline.orchestration.runner import ReconcileFailed, reconcile
from subscription_pipeline.warehouse.connection import connect_engine

EXPORT = Path("exports") / "engage_email_subscriptions.csv"
NEW_VECTOR = ("email", "new.person@example.com")
SNAPSHOT = Path("snapshot") / "subscription_state.parquet"


def _materialized_at(key: str) -> float:
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(key))
    assert event is not None
    return event.timestamp


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.slow
def test_duplicate_state_key_blocks_exports_report_and_snapshot(
    dagster_home: Path, sample_landing_zone: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    assert all(run.success for run in reconcile(sample_landing_zone, warehouse).runs)
    exported = (sample_landing_zone / EXPORT).read_bytes()
    served = (sample_landing_zone / SNAPSHOT).read_bytes()
    snapshot_at = _materialized_at("api_snapshot")
    exports_at = _materialized_at("state_exports")
    report_at = _materialized_at("reconciliation_report")

    # A second row for a key no new input touches: the incremental resolution keeps it.
    con = connect_engine(warehouse)  # the pipeline's file, not the analysts' copy
    con.execute("INSERT INTO subscription_state SELECT * FROM subscription_state LIMIT 1")
    con.close()
    upload = sample_landing_zone / "uploads" / "20990101T000000Z_one-more.csv"
    upload.write_text("email,email_subscription_status\nnew.person@example.com,subscribed\n")

    with pytest.raises(ReconcileFailed, match="state_key_unique"):
        reconcile(sample_landing_zone, warehouse)

    assert _materialized_at("subscription_state") > exports_at
    assert _materialized_at("state_exports") == exports_at
    assert _materialized_at("reconciliation_report") == report_at
    assert (sample_landing_zone / EXPORT).read_bytes() == exported
    # The API service answers from the snapshot that passed, not from the failed state.
    assert _materialized_at("api_snapshot") == snapshot_at
    assert (sample_landing_zone / SNAPSHOT).read_bytes() == served
    assert len(Snapshot(sample_landing_zone / SNAPSHOT).lookup([NEW_VECTOR])) == 0
    with dg.DagsterInstance.get() as instance:
        evaluation = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("subscription_state"), "state_key_unique")]
        )
    [execution] = evaluation.values()
    assert execution.status.value == "FAILED"
    # The history's checks only warn: the upload error reports still ran.
    assert _materialized_at("upload_error_reports") > exports_at
