"""Each ingestion partition tells its own story: its own counts, and a check on its own input."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from subscription_pipeline.ingest.ledger_file import ledger_file, read_ledger_file
from subscription_pipeline.orchestration.ingest_assets import (
    LOG_DAY_CHECK,
    UPLOAD_CHECK,
    csv_uploads,
    event_logs,
)
from subscription_pipeline.orchestration.partitions import UPLOAD_PARTITIONS_NAME
from subscription_pipeline.orchestration.resources import WarehouseResource

GOOD = "20240301T000000Z_good.csv"
BAD = "20240302T000000Z_bad.csv"
GONE = "20240303T000000Z_gone.csv"


def _range(first: str, last: str) -> dict[str, str]:
    """One run over a range of partitions, as a backfill (single_run policy) launches it."""
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def _latest(instance: dg.DagsterInstance, key: str, partition: str) -> dict:
    [record] = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), asset_partitions=[partition]), limit=1
    ).records
    return record.asset_materialization.metadata


def _check(instance: dg.DagsterInstance, key: str, name: str, partition: str):
    records = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey(key), name), limit=50
    )
    [latest, *_] = [r for r in records if r.partition == partition]
    return latest.event.dagster_event.event_specific_data


def test_upload_partitions_have_own_metadata_and_checks(tmp_path: Path) -> None:
    uploads = tmp_path / "data" / "uploads"
    uploads.mkdir(parents=True)
    (uploads / GOOD).write_text("email,email_subscription_status\na@example.com,subscribed\n")
    (uploads / BAD).write_text("email,shoe_size\nb@example.com,42\n")
    warehouse = tmp_path / "warehouse.duckdb"
    resource = WarehouseResource(data_dir=str(tmp_path / "data"), warehouse=str(warehouse))
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(UPLOAD_PARTITIONS_NAME, [GOOD, BAD, GONE])
        result = dg.materialize(
            [csv_uploads],
            instance=instance,
            resources={"warehouse": resource},
            tags=_range(GOOD, GONE),
        )
        assert result.success
        good = _latest(instance, "csv_uploads", GOOD)
        bad = _latest(instance, "csv_uploads", BAD)
        gone = _latest(instance, "csv_uploads", GONE)
        assert good["files"].value == 1 and good["applied"].value == 1
        assert bad["files_rejected"].value == 1 and bad["rows_in"].value == 1
        assert gone["files"].value == 0
        assert _check(instance, "csv_uploads", UPLOAD_CHECK, GOOD).passed
        rejected = _check(instance, "csv_uploads", UPLOAD_CHECK, BAD)
        assert not rejected.passed and "UNKNOWN_COLUMN" in rejected.description
        assert rejected.severity == dg.AssetCheckSeverity.WARN
        assert "does not exist" in _check(instance, "csv_uploads", UPLOAD_CHECK, GONE).description
    # The ledger is published beside the warehouse for readers that must not open it.
    assert ledger_file(warehouse).exists()
    assert set(read_ledger_file(warehouse)) == {f"uploads/{GOOD}", f"uploads/{BAD}"}


def test_a_log_day_without_files_is_a_warning_not_a_green_success(
    tmp_path: Path, sample_landing_zone: Path
) -> None:
    resource = WarehouseResource(
        data_dir=str(sample_landing_zone), warehouse=str(tmp_path / "w.duckdb")
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [event_logs],
            instance=instance,
            resources={"warehouse": resource},
            tags=_range("2024-03-04", "2024-03-07"),
        )
        assert result.success
        days = {day: _latest(instance, "event_logs", day) for day in ("2024-03-04", "2024-03-07")}
        assert days["2024-03-04"]["files"].value >= 1
        assert days["2024-03-07"]["files"].value == 0
        assert days["2024-03-04"]["rows_in"].value != days["2024-03-07"]["rows_in"].value
        empty = _check(instance, "event_logs", LOG_DAY_CHECK, "2024-03-07")
        assert not empty.passed and empty.description == "no input for this partition"
