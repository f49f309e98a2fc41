"""Opening the warehouse: schema applied, memory bounded, one writer at a time.

Two files (docs/warehouse.md): the pipeline writes its engine file (connect_engine); analysts
and the read-only commands open the published file at --warehouse (connect(..., read_only=True)).
"""

from __future__ import annotations

import os
import time
from importlib import resources
from pathlib import Path

import duckdb

from subscription_pipeline import paths
from subscription_pipeline.durable import transaction as transaction  # re-exported
from subscription_pipeline.warehouse.migrate import migrate
from subscription_pipeline.warehouse.publish import adopt

# DuckDB's share of a run's memory; past it, sorts and joins spill to `.duckdb_tmp`. At 5M events
# the full resolution takes as long with 768MB as with 1GB (512MB: +12%), and a Dagster run
# stays near 1.2 GiB in all (bench/profiles/07_resolution_memory_limit.txt).
DEFAULT_MEMORY_LIMIT = "768MB"
# A run may hold the file for a moment between steps: wait this long before giving up.
DEFAULT_LOCK_TIMEOUT_SECONDS = 30.0


class WarehouseLockedError(RuntimeError):
    """Another process holds the DuckDB file for writing."""


def default_memory_limit() -> str:
    return os.environ.get("SUBSCRIPTION_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)


def schema_sql() -> str:
    """The tables, then the views: a new database's whole schema (an older warehouse is
    migrated in between by `apply_schema`)."""
    return _warehouse_sql("schema.sql") + "\n" + _warehouse_sql("views.sql")


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables, migrate an older warehouse (migrate.py), create the views."""
    con.execute(_warehouse_sql("schema.sql"))
    migrate(con)
    con.execute(_warehouse_sql("views.sql"))


def _warehouse_sql(filename: str) -> str:
    return resources.files("subscription_pipeline.warehouse").joinpath(filename).read_text()


def connect(
    warehouse: Path,
    *,
    read_only: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; a writer also creates the schema. A held lock becomes a clear error."""
    warehouse = Path(warehouse)
    if not read_only:
        warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = _connect_waiting(warehouse, read_only, lock_timeout)
    # Bounded memory; DuckDB spills to a temp directory beside the warehouse, not into RAM.
    memory_limit = memory_limit or default_memory_limit()
    con.execute("SET memory_limit = ?", [memory_limit])
    con.execute("SET temp_directory = ?", [str(warehouse.parent / ".duckdb_tmp")])
    con.execute("SET preserve_insertion_order = false")
    if threads:
        con.execute("SET threads = ?", [threads])
    if not read_only:
        # One transaction: the schema is applied whole or not at all, and a new file costs one
        # WAL sync instead of one per statement (~15 ms instead of ~70 ms).
        with transaction(con):
            apply_schema(con)
    return con


def connect_engine(warehouse: Path, **kwargs: object) -> duckdb.DuckDBPyConnection:
    """Open the pipeline's engine file for the analysts' warehouse `warehouse` (--warehouse).

    Only the engine is written; `publish.publish` copies it to `warehouse` after a resolution.
    A warehouse from before the engine file existed becomes the engine's starting point.
    """
    warehouse = Path(warehouse)
    engine = paths.engine_warehouse(warehouse)
    if not kwargs.get("read_only"):
        adopt(warehouse, engine)
    return connect(engine, **kwargs)  # type: ignore[arg-type]


def _connect_waiting(
    warehouse: Path, read_only: bool, lock_timeout: float
) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + lock_timeout
    while True:
        try:
            return duckdb.connect(str(warehouse), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLockedError(
                    f"the warehouse {warehouse} is locked by another process (DuckDB allows one "
                    f"writer) and stayed locked for {lock_timeout:.0f}s; wait for the running "
                    f"reconcile to finish and retry. DuckDB said: {exc}"
                ) from exc
            time.sleep(0.5)
