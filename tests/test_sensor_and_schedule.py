"""The upload sensor works from the folder alone; the schedule asks for the right days."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from subscription_pipeline.orchestration.partitions import UPLOAD_PARTITIONS_NAME
from subscription_pipeline.orchestration.resources import WarehouseResource
from subscription_pipeline.orchestration.schedules import nightly_api_inbox, nightly_reconcile
from subscription_pipeline.orchestration.sensors import upload_sensor

HEADER = "email,email_subscription_status\n"


def _write_upload(data_dir: Path, name: str, body: str) -> Path:
    uploads = data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    path = uploads / name
    path.write_text(HEADER + body)
    return path


def test_sensor_adds_partitions_and_runs_only_new_or_changed_files(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = _write_upload(data_dir, "20240301T000000Z_a.csv", "a@example.com,subscribed\n")
    _write_upload(data_dir, "20240302T000000Z_b.csv", "b@example.com,unsubscribed\n")
    resources = {
        "warehouse": WarehouseResource(data_dir=str(data_dir), warehouse=str(tmp_path / "w"))
    }

    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources=resources)
        result = upload_sensor(context)
        assert isinstance(result, dg.SensorResult)
        assert [r.partition_key for r in result.run_requests] == [
            "20240301T000000Z_a.csv",
            "20240302T000000Z_b.csv",
        ]
        (added,) = result.dynamic_partitions_requests
        assert list(added.partition_keys) == ["20240301T000000Z_a.csv", "20240302T000000Z_b.csv"]
        instance.add_dynamic_partitions(UPLOAD_PARTITIONS_NAME, list(added.partition_keys))

        # Same folder, cursor kept: nothing to do.
        again = upload_sensor(
            dg.build_sensor_context(instance=instance, resources=resources, cursor=result.cursor)
        )
        assert isinstance(again, dg.SkipReason)

        # A re-dropped file with new content runs again, without re-adding its partition.
        first.write_text(HEADER + "a@example.com,unsubscribed\nc@example.com,subscribed\n")
        stat = first.stat()
        os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        changed = upload_sensor(
            dg.build_sensor_context(instance=instance, resources=resources, cursor=result.cursor)
        )
        assert [r.partition_key for r in changed.run_requests] == ["20240301T000000Z_a.csv"]
        assert changed.dynamic_partitions_requests == []
        assert set(json.loads(changed.cursor)) == {
            "20240301T000000Z_a.csv",
            "20240302T000000Z_b.csv",
        }
    # The sensor never creates the warehouse: it reads the folder listing only.
    assert not (tmp_path / "w").exists()


def test_nightly_schedule_requests_previous_and_current_received_day() -> None:
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2024, 3, 16, 2, 0, tzinfo=UTC)
    )
    for schedule in (nightly_reconcile, nightly_api_inbox):
        requests = list(schedule(context))
        assert [r.partition_key for r in requests] == ["2024-03-15", "2024-03-16"]
    assert nightly_api_inbox.job_name == "ingest_api_inbox"
    assert nightly_reconcile.cron_schedule == "0 2 * * *"
    assert nightly_reconcile.execution_timezone == "UTC"
