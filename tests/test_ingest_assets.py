"""The ingestion assets one partition at a time, in the Dagster University style: `dg.materialize`
with the real resource on a DuckDB file under tmp_path and a throw-away instance. No reconcile,
no sensor: the asset's own wiring (partition key, resource, metadata) is what is tested here."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from subscription_pipeline.orchestration.ingest_assets import csv_uploads, event_logs
from subscription_pipeline.orchestration.partitions import UPLOAD_PARTITIONS_NAME
from subscription_pipeline.orchestration.resources import WarehouseResource
from subscription_pipeline.paths import engine_warehouse
from subscription_pipeline.warehouse.connection import connect
from tests.csv_files import csv_text, write_upload
from tests.dagster_runs import warehouse_resource
from tests.log_files import entry, identify, write_log

DAY = "2024-03-15"


def resources(tmp_path: Path) -> dict[str, WarehouseResource]:
    return {"warehouse": warehouse_resource(tmp_path)}


def metadata(result: dg.ExecuteInProcessResult, asset: dg.AssetsDefinition) -> dict:
    [event] = result.asset_materializations_for_node(asset.op.name)
    return {key: value.value for key, value in event.metadata.items()}


def rows(tmp_path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = connect(engine_warehouse(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_event_logs_partition_stores_its_day_and_reports_its_accounting(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    write_log(
        data_dir,
        DAY,
        "part-0.gz",
        [
            identify("m-1", [entry(" Ann@Example.com ", status="UNSUBSCRIBED")]),
            identify("m-2", [entry("not-an-email")]),
            "{not json",
        ],
    )
    # Another day's file: the partition must not read it.
    write_log(data_dir, "2024-03-16", "part-0.gz", [identify("m-3", [entry("bo@example.com")])])

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [event_logs], resources=resources(tmp_path), partition_key=DAY, instance=instance
        )

    assert result.success
    meta = metadata(result, event_logs)
    assert (meta["files"], meta["rows_in"], meta["applied"], meta["rejected"]) == (1, 3, 1, 2)
    assert meta["accounting_balanced"] is True
    assert rows(tmp_path, "SELECT DISTINCT partition_key FROM observations") == [(DAY,)]
    assert rows(tmp_path, "SELECT channel, contact, status FROM observations") == [
        ("email", "ann@example.com", "unsubscribed")
    ]
    assert sorted(rows(tmp_path, "SELECT row_number, error_code FROM rejections")) == [
        (2, "INVALID_EMAIL"),
        (3, "INVALID_JSON"),
    ]


def test_event_logs_day_without_files_materialises_empty(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [event_logs], resources=resources(tmp_path), partition_key=DAY, instance=instance
        )
    assert result.success
    meta = metadata(result, event_logs)
    assert (meta["files"], meta["rows_in"]) == (0, 0)
    assert rows(tmp_path, "SELECT count(*) FROM input_ledger") == [(0,)]


def test_csv_uploads_partition_ingests_its_file_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    name = "20240315T093000Z_trade-show.csv"
    write_upload(
        data_dir,
        name,
        csv_text(
            ["email", "email_subscription_status"],
            [["Ann@Example.com", "unsubscribed"], ["bad@", "subscribed"]],
        ),
    )
    write_upload(data_dir, "other.csv", csv_text(["email"], [["bo@example.com"]]))

    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(UPLOAD_PARTITIONS_NAME, [name, "other.csv"])
        result = dg.materialize(
            [csv_uploads], resources=resources(tmp_path), partition_key=name, instance=instance
        )

    assert result.success
    meta = metadata(result, csv_uploads)
    assert (meta["rows_in"], meta["applied"], meta["rejected"]) == (2, 1, 1)
    assert meta["accounting_balanced"] is True
    assert rows(tmp_path, "SELECT source_file, status FROM input_ledger") == [
        (f"uploads/{name}", "ingested")
    ]
    assert rows(tmp_path, "SELECT contact, status, effective_at::VARCHAR FROM observations") == [
        ("ann@example.com", "unsubscribed", "2024-03-15 09:30:00")
    ]


def test_csv_uploads_partition_whose_file_is_gone_keeps_what_it_stored(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    name = "gone.csv"
    content = csv_text(["email", "email_subscription_status"], [["a@example.com", "true"]])
    path = write_upload(data_dir, name, content)
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(UPLOAD_PARTITIONS_NAME, [name])
        first = dg.materialize(
            [csv_uploads], resources=resources(tmp_path), partition_key=name, instance=instance
        )
        path.unlink()
        second = dg.materialize(
            [csv_uploads], resources=resources(tmp_path), partition_key=name, instance=instance
        )

    assert first.success and second.success
    assert metadata(second, csv_uploads)["files"] == 0
    assert rows(tmp_path, "SELECT contact, status FROM observations") == [
        ("a@example.com", "subscribed")
    ]
