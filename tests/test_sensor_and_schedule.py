"""The upload sensor works from the folder alone; the schedule asks for the right days."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from subscription_pipeline.api.inbox import (
    NewEntry,
    inbox_path,
    insert_entries,
    open_inbox,
    write_transaction,
)
from subscription_pipeline.orchestration.ingest_assets import csv_uploads
from subscription_pipeline.orchestration.partitions import UPLOAD_PARTITIONS_NAME
from subscription_pipeline.orchestration.resources import WarehouseResource
from subscription_pipeline.orchestration.runner import reconcile
from subscription_pipeline.orchestration.schedules import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    nightly_reconcile,
)
from subscription_pipeline.orchestration.sensors import upload_sensor

HEADER = "email,email_subscription_status\n"


def _write_upload(data_dir: Path, name: str, body: str) -> Path:
    uploads = data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    path = uploads / name
    path.write_text(HEADER + body)
    return path


def _requests(result) -> list[tuple[str, str]]:
    if isinstance(result, dg.SkipReason) or not result.run_requests:
        return []
    return [
        (r.job_name, r.partition_key or f"{r.tags[RANGE_START_TAG]}..{r.tags[RANGE_END_TAG]}")
        for r in result.run_requests
    ]


def _accept_inbox_entry(data_dir: Path, at: datetime) -> None:
    con = open_inbox(inbox_path(data_dir))
    try:
        with write_transaction(con):
            insert_entries(
                con, "req-1", at, [NewEntry(0, "email", "x@example.com", None, "subscribed")]
            )
    finally:
        con.close()


def test_sensor_adds_partitions_and_runs_only_new_or_changed_inputs(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = _write_upload(data_dir, "20240301T000000Z_a.csv", "a@example.com,subscribed\n")
    _write_upload(data_dir, "20240302T000000Z_b.csv", "b@example.com,unsubscribed\n")
    _accept_inbox_entry(data_dir, datetime(2024, 3, 5, 12, 0, tzinfo=UTC))
    resources = {
        "warehouse": WarehouseResource(data_dir=str(data_dir), warehouse=str(tmp_path / "w"))
    }

    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance, resources=resources)
        result = upload_sensor(context)
        assert _requests(result) == [
            ("ingest_uploads", "20240301T000000Z_a.csv"),
            ("ingest_uploads", "20240302T000000Z_b.csv"),
            ("ingest_api_inbox", "2024-03-05"),
        ]
        (added,) = result.dynamic_partitions_requests
        assert list(added.partition_keys) == ["20240301T000000Z_a.csv", "20240302T000000Z_b.csv"]
        instance.add_dynamic_partitions(UPLOAD_PARTITIONS_NAME, list(added.partition_keys))

        # Same folder, cursor kept: nothing to do while those runs are queued or failed.
        again = upload_sensor(
            dg.build_sensor_context(instance=instance, resources=resources, cursor=result.cursor)
        )
        assert _requests(again) == []

        # A re-dropped file with new content runs again, without re-adding its partition.
        first.write_text(HEADER + "a@example.com,unsubscribed\nc@example.com,subscribed\n")
        stat = first.stat()
        os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        changed = upload_sensor(
            dg.build_sensor_context(instance=instance, resources=resources, cursor=result.cursor)
        )
        assert _requests(changed) == [("ingest_uploads", "20240301T000000Z_a.csv")]
        assert changed.dynamic_partitions_requests == []
    # The sensor never creates the warehouse: it reads the folder listing only.
    assert not (tmp_path / "w").exists()


def test_sensor_skips_what_an_ingestion_already_did(tmp_path: Path) -> None:
    """The sensor and the CLI share one answer (the ledger file), so a fresh cursor after an
    ingestion outside the sensor asks only for what is still new."""
    data_dir = tmp_path / "data"
    _write_upload(data_dir, "20240301T000000Z_a.csv", "a@example.com,subscribed\n")
    _write_upload(data_dir, "20240302T000000Z_b.csv", "b@example.com,unsubscribed\n")
    resource = WarehouseResource(data_dir=str(data_dir), warehouse=str(tmp_path / "w.duckdb"))
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(UPLOAD_PARTITIONS_NAME, ["20240301T000000Z_a.csv"])
        assert dg.materialize(
            [csv_uploads],
            instance=instance,
            resources={"warehouse": resource},
            partition_key="20240301T000000Z_a.csv",
        ).success
        result = upload_sensor(
            dg.build_sensor_context(instance=instance, resources={"warehouse": resource})
        )
        assert _requests(result) == [("ingest_uploads", "20240302T000000Z_b.csv")]


def test_sensor_asks_for_consecutive_log_days_in_one_run(
    tmp_path: Path, sample_landing_zone: Path
) -> None:
    resource = WarehouseResource(
        data_dir=str(sample_landing_zone), warehouse=str(tmp_path / "w.duckdb")
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = upload_sensor(
            dg.build_sensor_context(instance=instance, resources={"warehouse": resource})
        )
    days = [r for r in _requests(result) if r[0] == "ingest_event_logs"]
    assert days == [("ingest_event_logs", "2024-03-01..2024-03-05")]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sensor_after_a_cli_reconcile_requests_no_runs(
    dagster_home: Path, sample_landing_zone: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    _accept_inbox_entry(sample_landing_zone, datetime(2024, 3, 5, 12, 0, tzinfo=UTC))
    assert all(run.success for run in reconcile(sample_landing_zone, warehouse).runs)
    resource = WarehouseResource(data_dir=str(sample_landing_zone), warehouse=str(warehouse))
    with dg.DagsterInstance.get() as instance:
        result = upload_sensor(
            dg.build_sensor_context(instance=instance, resources={"warehouse": resource})
        )
    assert _requests(result) == []


def test_nightly_schedule_requests_one_run_over_previous_and_current_day() -> None:
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2024, 3, 16, 2, 0, tzinfo=UTC)
    )
    request = nightly_reconcile(context)
    assert request.tags[RANGE_START_TAG] == "2024-03-15"
    assert request.tags[RANGE_END_TAG] == "2024-03-16"
    assert nightly_reconcile.job_name == "nightly"
    assert nightly_reconcile.cron_schedule == "0 2 * * *"
    assert nightly_reconcile.execution_timezone == "UTC"
    assert nightly_reconcile.default_status == dg.DefaultScheduleStatus.RUNNING
