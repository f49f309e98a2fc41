"""resolve_pending's two paths (only the dirty vectors, or everything when most are dirty) and
resolve_all write identical tables, on the committed sample landing zone ingested for real."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import duckdb
import pytest

from subscription_pipeline.ingest.csv_upload import ingest_upload, list_uploads
from subscription_pipeline.ingest.event_logs import ingest_log_day, list_log_days
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.resolve import engine
from subscription_pipeline.resolve.engine import resolve_all, resolve_pending
from subscription_pipeline.warehouse.connection import connect
from tests.landing import copy_sample_inputs

SETTINGS = IngestSettings()
NEVER, ALWAYS = math.inf, 0.0
DIRTY_COUNT = "SELECT count(DISTINCT (channel, contact)) FROM dirty_vectors"


def ingest_everything(con: duckdb.DuckDBPyConnection, data_dir: Path) -> None:
    for name in list_uploads(data_dir):
        ingest_upload(con, data_dir, name, SETTINGS)
    for day in list_log_days(data_dir):
        ingest_log_day(con, data_dir, day, SETTINGS)


def outputs(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {
        table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        for table in ("subscription_state", "subscription_history")
    }


@pytest.fixture(scope="module")
def ingested_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample landing zone ingested once per module; each test resolves its own copy."""
    folder = tmp_path_factory.mktemp("ingested")
    path = folder / "warehouse.duckdb"
    con = connect(path, threads=2)
    ingest_everything(con, copy_sample_inputs(folder / "data"))
    con.close()
    return path


@pytest.fixture
def warehouse(tmp_path: Path, ingested_file: Path) -> duckdb.DuckDBPyConnection:
    shutil.copy(ingested_file, tmp_path / "warehouse.duckdb")
    con = connect(tmp_path / "warehouse.duckdb", threads=2)
    yield con
    con.close()


def test_scoped_and_rebuilt_paths_write_the_same_tables(warehouse) -> None:
    con = warehouse
    (dirty,) = con.execute(
        "SELECT count(DISTINCT (channel, contact)) FROM dirty_vectors"
    ).fetchone()
    assert dirty > 100

    scoped = resolve_pending(con, full_rebuild_fraction=NEVER)
    assert (scoped.rebuilt_all, scoped.full, scoped.vectors_resolved) == (False, False, dirty)
    after_scoped = outputs(con)
    assert len(after_scoped["subscription_history"]) > len(after_scoped["subscription_state"]) > 0

    # Every vector dirty again (as after a re-ingestion of everything): the rebuild path.
    con.execute("INSERT INTO dirty_vectors SELECT DISTINCT channel, contact FROM observations")
    rebuilt = resolve_pending(con, full_rebuild_fraction=ALWAYS)
    assert (rebuilt.rebuilt_all, rebuilt.full) == (True, False)
    assert (rebuilt.state_rows, rebuilt.history_rows) == (scoped.state_rows, scoped.history_rows)
    assert outputs(con) == after_scoped

    assert resolve_all(con).rebuilt_all
    assert outputs(con) == after_scoped


def test_scoped_path_after_one_day_is_reingested(warehouse, sample_landing_zone) -> None:
    """A day ingested again dirties only its vectors; resolving just those gives the tables of a
    full rebuild, and a duplicate copy's winner is still decided over every day's copies."""
    con = warehouse
    resolve_all(con)
    expected = outputs(con)
    # The day with the most duplicate copies: their winners may sit in other days.
    (day,) = con.execute(
        "SELECT partition_key FROM input_ledger WHERE source_kind = 'event_log' "
        "GROUP BY ALL ORDER BY sum(duplicate) DESC, partition_key LIMIT 1"
    ).fetchone()
    ingest_log_day(con, sample_landing_zone, day, SETTINGS)
    (dirty,) = con.execute(
        "SELECT count(DISTINCT (channel, contact)) FROM dirty_vectors"
    ).fetchone()
    (known,) = con.execute(
        "SELECT count(*) FROM subscription_state WHERE subscription_group IS NULL"
    ).fetchone()
    assert 0 < dirty < known

    summary = resolve_pending(con, full_rebuild_fraction=NEVER)
    assert (summary.rebuilt_all, summary.vectors_resolved) == (False, dirty)
    assert outputs(con) == expected
    assert con.execute("SELECT count(*) FROM dirty_vectors").fetchone() == (0,)


def test_small_runs_keep_the_scoped_path_whatever_the_fraction(warehouse) -> None:
    # Below FULL_REBUILD_MIN_VECTORS the scoped path is as cheap and stays the one exercised.
    summary = resolve_pending(warehouse)
    assert not summary.rebuilt_all


def test_rebuild_in_buckets_writes_the_same_tables(warehouse, monkeypatch) -> None:
    """The sample's real observations rebuilt in several hash buckets of vectors (the path
    that keeps a 50M-event rebuild inside the memory limit) give the one-pass tables."""
    con = warehouse
    one_pass = resolve_all(con)
    expected = outputs(con)
    [(observations,)] = con.execute("SELECT count(*) FROM observations").fetchall()
    monkeypatch.setattr(engine, "REBUILD_BUCKET_OBSERVATIONS", observations // 5)
    bucketed = resolve_all(con)
    assert outputs(con) == expected
    assert (bucketed.state_rows, bucketed.history_rows) == (
        one_pass.state_rows,
        one_pass.history_rows,
    )


def test_bucket_size_follows_the_memory_limit(tmp_path, monkeypatch) -> None:
    con = connect(tmp_path / "w.duckdb", memory_limit="256MB")  # DuckDB reports 244.1 MiB
    con.execute(
        "INSERT INTO observations (source_kind, partition_key, source_file, source, channel, "
        "contact, effective_at) SELECT 'csv', 'a.csv', 'uploads/a.csv', 'a.csv', 'email', "
        "'c' || i || '@example.com', TIMESTAMP '2024-01-01' FROM range(1000) t(i)"
    )
    monkeypatch.setattr(engine, "REBUILD_OBSERVATIONS_PER_MIB", 1)
    assert engine._rebuild_buckets(con) == 5  # ceil(1000 / 244)
    con.execute("SET memory_limit = '2GB'")
    assert engine._rebuild_buckets(con) == 1
    con.close()
