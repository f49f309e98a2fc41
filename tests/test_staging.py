"""Staged log days: Parquet outcomes written without the warehouse, loaded by one writer, give
exactly the rows of direct ingestion, in any staging order and batching, re-runs included."""

from __future__ import annotations

from pathlib import Path

import pytest

from subscription_pipeline.ingest import staged_logs
from subscription_pipeline.ingest.event_logs import SOURCE_KIND, ingest_log_day, list_log_days
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.ingest.staged_load import load_staged
from subscription_pipeline.ingest.staged_logs import stage_log_day, staged_days
from subscription_pipeline.ingest.staging import staging_root
from subscription_pipeline.warehouse.connection import connect
from tests.warehouse_tables import read_tables

QUERIES = {
    "observations": "SELECT * FROM observations",
    "rejections": "SELECT * FROM rejections",
    "warnings": "SELECT * FROM ingest_warnings",
    "log_messages": "SELECT * FROM log_messages",
    "ledger": "SELECT * EXCLUDE (ingested_at) FROM input_ledger",
    "dirty": "SELECT DISTINCT * FROM dirty_vectors",
    "normalized": "SELECT DISTINCT * FROM normalized_identifiers",
}


def test_staged_days_load_to_the_rows_of_direct_ingestion(
    sample_landing_zone: Path, tmp_path: Path
) -> None:
    settings = IngestSettings()
    days = list_log_days(sample_landing_zone)
    assert len(days) >= 3

    direct = tmp_path / "direct.duckdb"
    con = connect(direct)
    for day in days:
        ingest_log_day(con, sample_landing_zone, day, settings)
    con.close()

    staged = tmp_path / "staged.duckdb"
    # Staging in reverse order, the first batch with no warehouse at all.
    first, rest = days[len(days) // 2 :], days[: len(days) // 2]
    for day in reversed(first):
        stage_log_day(sample_landing_zone, day, settings)
    assert not staged.exists(), "staging must not touch the warehouse"
    assert staged_days(sample_landing_zone) == sorted(first)
    con = connect(staged)
    assert load_staged(con, sample_landing_zone).log_days == sorted(first)
    for day in rest + [first[0]]:  # a re-staged day replaces what it loaded
        stage_log_day(sample_landing_zone, day, settings)
        stage_log_day(sample_landing_zone, day, settings)  # re-running replaces the files
    assert load_staged(con, sample_landing_zone).log_days == sorted(rest + [first[0]])
    assert staged_days(sample_landing_zone) == []
    con.close()

    want, got = read_tables(direct, QUERIES), read_tables(staged, QUERIES)
    assert sum(row[10] for row in want["ledger"]) >= 1, "sample data has a cross-day duplicate"
    for name in QUERIES:
        assert got[name] == want[name], name


def test_a_crashed_stage_leaves_nothing(
    sample_landing_zone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = list_log_days(sample_landing_zone)[0]
    stage_log_day(sample_landing_zone, day, IngestSettings())
    before = sorted(
        p.name for p in (staging_root(sample_landing_zone, SOURCE_KIND) / day).iterdir()
    )

    def crash(*args: object) -> None:
        raise RuntimeError("worker died")

    monkeypatch.setattr(staged_logs, "ingest_log_day", crash)
    with pytest.raises(RuntimeError):
        stage_log_day(sample_landing_zone, day, IngestSettings())
    root = staging_root(sample_landing_zone, SOURCE_KIND)
    assert sorted(p.name for p in root.iterdir()) == [day], "no temporary folder left"
    assert sorted(p.name for p in (root / day).iterdir()) == before
