"""Dagster-level set-ups shared by the asset tests: the warehouse resource on tmp_path, and one
upload ingested through its own partition (`dg.materialize`, no reconcile)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from subscription_pipeline.orchestration.ingest_assets import csv_uploads
from subscription_pipeline.orchestration.partitions import UPLOAD_PARTITIONS_NAME
from subscription_pipeline.orchestration.resources import WarehouseResource

UPLOAD = "20240301T000000Z_a.csv"
# Every asset a complete night materialises after the ingestion.
AFTER_INGESTION = (
    "subscription_state",
    "subscription_history",
    "upload_error_reports",
    "reconciliation_report",
    "state_exports",
    "api_snapshot",
)


def warehouse_resource(tmp_path: Path) -> WarehouseResource:
    """The pipeline's resource on tmp_path/data and tmp_path/warehouse.duckdb."""
    return WarehouseResource(
        data_dir=str(tmp_path / "data"), warehouse=str(tmp_path / "warehouse.duckdb")
    )


def ingest_one_upload(
    instance: dg.DagsterInstance, tmp_path: Path, body: str, name: str = UPLOAD
) -> WarehouseResource:
    """Land `body` as upload `name`, register its partition and materialise it."""
    uploads = tmp_path / "data" / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    (uploads / name).write_text(body)
    resource = warehouse_resource(tmp_path)
    instance.add_dynamic_partitions(UPLOAD_PARTITIONS_NAME, [name])
    result = dg.materialize(
        [csv_uploads], instance=instance, resources={"warehouse": resource}, partition_key=name
    )
    assert result.success
    return resource
