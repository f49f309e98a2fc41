"""The automation completes the night after any ingestion, including one that landed before the
automation sensor's first tick, and then rests."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from subscription_pipeline.definitions import defs
from subscription_pipeline.orchestration.automation import automation_sensor
from tests.dagster_runs import AFTER_INGESTION, ingest_one_upload


def test_automation_sensor_is_on_by_default() -> None:
    assert automation_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert automation_sensor.name in {sensor.name for sensor in defs.sensors}


def test_first_tick_resolves_an_ingestion_that_landed_before_it(tmp_path: Path) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        # A backfill made in the UI before the daemon's automation ever ticked.
        ingest_one_upload(
            instance, tmp_path, "email,email_subscription_status\na@example.com,subscribed\n"
        )
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        for key in AFTER_INGESTION:
            assert first.get_num_requested(dg.AssetKey(key)) == 1, key
        # Today's inbox day, so the state's upstream is never "never materialised".
        assert first.get_num_requested(dg.AssetKey("api_inbox")) == 1
        # Nothing changed since: the next tick requests nothing (no loop).
        second = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=first.cursor
        )
        assert second.total_requested == 0
