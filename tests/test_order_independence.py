"""Backfills in any order, with incremental resolutions in between, give the full run's tables.

Real files (the committed sample landing zone), real ingestion and resolution, no Dagster: the
partitions are ingested in a random order, resolving after a random subset of them.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subscription_pipeline.ingest.csv_upload import ingest_upload, list_uploads
from subscription_pipeline.ingest.event_logs import ingest_log_day, list_log_days
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.resolve.engine import resolve_pending
from subscription_pipeline.warehouse.connection import connect

SAMPLE = Path(__file__).resolve().parent.parent / "data"
SETTINGS = IngestSettings()
PARTITIONS = [("upload", name) for name in list_uploads(SAMPLE)] + [
    ("day", day) for day in list_log_days(SAMPLE)
]
COMPARED = (
    "subscription_state",
    "subscription_history",
    "rejections",
    "ingest_warnings",
)


def ingest(con: duckdb.DuckDBPyConnection, kind: str, key: str) -> None:
    if kind == "upload":
        ingest_upload(con, SAMPLE, key, SETTINGS)
    else:
        ingest_log_day(con, SAMPLE, key, SETTINGS)


def build(warehouse: Path, order: list[tuple[str, str]], resolve_after: set[int]) -> dict:
    con = connect(warehouse)
    try:
        for position, (kind, key) in enumerate(order):
            ingest(con, kind, key)
            if position in resolve_after:
                resolve_pending(con)
        resolve_pending(con)
        tables = {
            # Table names are this module's constants.
            t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
            for t in COMPARED
        }
        tables["input_ledger"] = sorted(
            con.execute("SELECT * EXCLUDE (ingested_at) FROM input_ledger").fetchall(), key=repr
        )
        return tables
    finally:
        con.close()


_reference: dict = {}


def reference(tmp_dir: Path) -> dict:
    if not _reference:
        _reference.update(build(tmp_dir / "reference.duckdb", PARTITIONS, set()))
    return _reference


@pytest.mark.slow
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    order=st.permutations(PARTITIONS),
    resolve_after=st.sets(st.integers(min_value=0, max_value=len(PARTITIONS) - 1)),
    run=st.uuids(),
)
def test_any_ingestion_order_and_batching_equals_the_full_run(
    tmp_path: Path, order: list, resolve_after: set[int], run: object
) -> None:
    expected = reference(tmp_path)
    assert build(tmp_path / f"{run}.duckdb", list(order), resolve_after) == expected
