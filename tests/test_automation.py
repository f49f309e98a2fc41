"""The automation completes the night after any ingestion, including one that landed before the
automation sensor's first tick, and then rests."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from subscription_pipeline.definitions import defs
from subscription_pipeline.orchestration.automation import automation_sensor
from subscription_pipeline.orchestration.ingest_assets import csv_uploads
from subscription_pipeline.orchestration.partitions import UPLOAD_PARTITIONS_NAME
from subscription_pipeline.orchestration.resources import WarehouseResource

UPLOAD = "20240301T000000Z_a.csv"
FOLLOWERS = {
    "subscription_state",
    "subscription_history",
    "upload_error_reports",
    "reconciliation_report",
    "state_exports",
    "api_snapshot",
}


def test_automation_sensor_is_on_by_default() -> None:
    assert automation_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert automation_sensor.name in {sensor.name for sensor in defs.sensors}


def test_first_tick_resolves_an_ingestion_that_landed_before_it(tmp_path: Path) -> None:
    uploads = tmp_path / "data" / "uploads"
    uploads.mkdir(parents=True)
    (uploads / UPLOAD).write_text("email,email_subscription_status\na@example.com,subscribed\n")
    resource = WarehouseResource(
        data_dir=str(tmp_path / "data"), warehouse=str(tmp_path / "w.duckdb")
    )
    with dg.DagsterInstance.ephemeral() as instance:
        # A backfill made in the UI before the daemon's automation ever ticked.
        instance.add_dynamic_partitions(UPLOAD_PARTITIONS_NAME, [UPLOAD])
        dg.materialize(
            [csv_uploads],
            instance=instance,
            resources={"warehouse": resource},
            partition_key=UPLOAD,
        )
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        for key in FOLLOWERS:
            assert first.get_num_requested(dg.AssetKey(key)) == 1, key
        # Today's inbox day, so the state's upstream is never "never materialised".
        assert first.get_num_requested(dg.AssetKey("api_inbox")) == 1
        # Nothing changed since: the next tick requests nothing (no loop).
        second = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=first.cursor
        )
        assert second.total_requested == 0
