"""Scale-out: the same reconcile on two Celery workers (or local processes) gives the same tables.

The sample data holds the hard stories: a late event replayed at its own time, a message
re-delivered the next day (a duplicate across days), STOP keywords that lock a number.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from broker import celery_workers, redis_broker

from subscription_pipeline.orchestration.executors import BROKER_ENV
from subscription_pipeline.orchestration.runner import reconcile
from subscription_pipeline.warehouse.connection import connect

# Every output a reader sees; the ledger without its wall-clock ingestion time.
QUERIES = {
    "state": "SELECT * FROM subscription_state",
    "history": "SELECT * FROM subscription_history",
    "rejections": "SELECT * FROM rejections",
    "warnings": "SELECT * FROM ingest_warnings",
    "observations": "SELECT * FROM observations",
    "ledger": "SELECT * EXCLUDE (ingested_at) FROM input_ledger",
}
STEP_LINE = re.compile(r"starting run (\S+) step (\S+)")


def tables(warehouse: Path) -> dict[str, list[tuple]]:
    con = connect(warehouse, read_only=True)
    try:
        return {
            name: sorted(con.execute(sql).fetchall(), key=repr) for name, sql in QUERIES.items()
        }
    finally:
        con.close()


def copy_zone(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


# The scenario really has its stories: tables of zeros would compare equal too.
STORIES = {
    "a duplicate across days": "SELECT sum(duplicate) FROM input_ledger",
    "a STOP-locked vector": "SELECT count(*) FROM subscription_state WHERE locked",
    "a late event replayed before an earlier-received one": """
        SELECT count(*) FROM subscription_history h JOIN observations o
          ON o.source_file = h.source_file AND o.message_id = h.message_id
        WHERE o.partition_key > CAST(h.effective_at AS DATE)::VARCHAR
    """,
    "a rejection": "SELECT count(*) FROM rejections",
}


def assert_has_stories(warehouse: Path) -> None:
    con = connect(warehouse, read_only=True)
    try:
        for story, sql in STORIES.items():
            assert (con.execute(sql).fetchone()[0] or 0) >= 1, f"the scenario lacks {story}"
    finally:
        con.close()


def assert_same_tables(expected: Path, actual: Path) -> None:
    assert_has_stories(expected)
    want, got = tables(expected), tables(actual)
    for name, rows in want.items():
        assert got[name] == rows, f"{name} differs from the in-process reconcile"


@pytest.fixture
def in_process_warehouse(dagster_home: Path, sample_landing_zone: Path, tmp_path: Path) -> Path:
    zone = copy_zone(sample_landing_zone, tmp_path / "in_process")
    reconcile(zone, zone / "warehouse.duckdb")
    return zone / "warehouse.duckdb"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_two_celery_workers_give_the_in_process_tables(
    dagster_home: Path,
    sample_landing_zone: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_process_warehouse: Path,
) -> None:
    if not os.environ.get(BROKER_ENV) and not shutil.which("redis-server"):
        pytest.skip("no redis-server binary and no SUBSCRIPTION_BROKER_URL (CI installs Redis)")
    zone = copy_zone(sample_landing_zone, tmp_path / "celery")
    with redis_broker(tmp_path) as broker:
        monkeypatch.setenv(BROKER_ENV, broker)
        env = os.environ | {"DAGSTER_HOME": str(dagster_home), BROKER_ENV: broker}
        with celery_workers(["scale-a", "scale-b"], env, tmp_path) as workers:
            result = reconcile(zone, zone / "warehouse.duckdb", executor="celery")
            steps = {name: STEP_LINE.findall(w.log.read_text()) for name, w in workers.items()}

    assert all(record.success for record in result.runs)
    assert_same_tables(in_process_warehouse, zone / "warehouse.duckdb")
    ours = {record.run_id for record in result.runs}
    for name, ran in steps.items():
        assert {run_id for run_id, _ in ran} & ours, f"worker {name} ran no step: {ran}"
    ran_steps = {step for ran in steps.values() for _, step in ran}
    assert {"load_staged_step", "resolved_subscriptions"} <= ran_steps
    # One step per received day, off the warehouse, spread over the workers.
    assert len({s for s in ran_steps if s.startswith("stage_partition_step[log_")}) >= 3


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_multiprocess_executor_gives_the_in_process_tables(
    dagster_home: Path, sample_landing_zone: Path, tmp_path: Path, in_process_warehouse: Path
) -> None:
    zone = copy_zone(sample_landing_zone, tmp_path / "multiprocess")
    result = reconcile(zone, zone / "warehouse.duckdb", executor="multiprocess")
    assert all(record.success for record in result.runs)
    assert_same_tables(in_process_warehouse, zone / "warehouse.duckdb")
