"""The warehouse as a Dagster resource: paths and limits read when a run starts, not at import."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb

from subscription_pipeline import paths
from subscription_pipeline.erasure.apply import apply_pending_erasures
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.normalize import DEFAULT_REGION
from subscription_pipeline.warehouse.connection import connect_engine

WAREHOUSE_POOL = "warehouse"


class WarehouseResource(dg.ConfigurableResource):
    """Where the landing zone and the DuckDB file are; empty: the environment or repo default."""

    data_dir: str = ""
    warehouse: str = ""
    default_region: str = DEFAULT_REGION
    memory_limit: str = ""  # empty: SUBSCRIPTION_MEMORY_LIMIT, else the connection default

    def data_path(self) -> Path:
        return Path(self.data_dir).resolve() if self.data_dir else paths.default_data_dir()

    def warehouse_path(self) -> Path:
        if self.warehouse:
            return Path(self.warehouse).resolve()
        return paths.default_warehouse(self.data_path())

    def reports_path(self) -> Path:
        return self.data_path() / "reports"

    def ingest_settings(self) -> IngestSettings:
        return IngestSettings(default_region=self.default_region)

    @contextlib.contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        def open_warehouse() -> duckdb.DuckDBPyConnection:
            # The pipeline's own file; analysts read the copy each resolution publishes.
            return connect_engine(self.warehouse_path(), memory_limit=self.memory_limit or None)

        con = open_warehouse()
        try:
            # Queued erasures first, whatever the step (docs/consent.md).
            con = apply_pending_erasures(
                con, self.data_path(), self.warehouse_path(), open_warehouse
            )
            yield con
        finally:
            con.close()
