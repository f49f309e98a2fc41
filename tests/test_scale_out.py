"""Scale-out: the same reconcile on two Celery workers (or local processes) gives the same tables.

Two nights. The sample data holds the hard stories: a late event replayed at its own time, a
message re-delivered the next day (a duplicate across days), STOP keywords that lock a number.
The second night brings uploads and API inbox days, staged as partitions too: a late upload
(stated before events already resolved), an upload that repeats an earlier day's rows, an upload
that subscribes a number a STOP keyword locked, and two inbox days.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from broker import celery_workers, redis_broker

from subscription_pipeline.orchestration.executors import BROKER_ENV
from subscription_pipeline.orchestration.runner import RunRecord, reconcile
from subscription_pipeline.warehouse.connection import connect
from tests.inbox_files import write_inbox
from tests.warehouse_tables import OUTPUTS, read_tables

# Every output a reader sees, and what staging also writes: suppressed rows, upload times.
QUERIES = OUTPUTS | {
    "suppressed": "SELECT * FROM suppressed_records",
    "upload times": "SELECT * EXCLUDE (registered_at) FROM upload_times",
}
STEP_LINE = re.compile(r"starting run (\S+) step (\S+)")


def copy_zone(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


LATE = "20240301T070000Z_late-import.csv"  # before the sample's first events (D0 10:00)
AGAIN = "20240305T090000Z_crm-export-again.csv"
STOPPED = "20240305T100000Z_sms-optin.csv"


def second_night(zone: Path) -> None:
    """New inputs after the first reconcile (same files in every zone)."""
    uploads = zone / "uploads"
    (uploads / LATE).write_text(
        "email,email_subscription_status\nolivia.stone@example.org,unsubscribed\n"
        "dana.decided@example.org,subscribed\n",
        encoding="utf-8",
    )
    crm = (uploads / "20240302T060000Z_crm-export.csv").read_bytes()
    (uploads / AGAIN).write_bytes(crm)
    con = connect(zone / "warehouse.duckdb", read_only=True)
    try:
        locked = con.execute(
            "SELECT contact FROM subscription_state WHERE locked AND channel = 'sms' "
            "ORDER BY contact LIMIT 1"
        ).fetchall()
    finally:
        con.close()
    assert locked, "the first night has a number a STOP keyword locked"
    (uploads / STOPPED).write_text(
        f"phone,sms_subscription_status\n{locked[0][0]},subscribed\n", encoding="utf-8"
    )
    write_inbox(zone, "erin.api@example.com")


def two_nights(zone: Path, executor: str) -> list[RunRecord]:
    first = reconcile(zone, zone / "warehouse.duckdb", executor=executor)
    second_night(zone)
    second = reconcile(zone, zone / "warehouse.duckdb", executor=executor)
    assert set(second.uploads) == {LATE, AGAIN, STOPPED}, "only the new uploads are pending"
    return first.runs + second.runs


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
# The sample data's own stories (one night); the second night adds the rest.
ONE_NIGHT_STORIES = dict(STORIES)
STORIES |= {
    "a late upload replayed before events resolved the night before": f"""
        SELECT count(*) FROM subscription_history h
        WHERE h.source_file = 'uploads/{LATE}' AND EXISTS (
            SELECT 1 FROM observations o WHERE o.source_kind = 'event'
              AND o.contact = h.contact AND o.effective_at > h.effective_at)
    """,
    "an upload repeating an earlier day's rows": """
        SELECT count(*) FROM (
            SELECT channel, contact, subscription_group, status FROM observations
            WHERE source_kind = 'csv'
            GROUP BY ALL HAVING count(DISTINCT partition_key) > 1)
    """,
    "an upload blocked by a STOP lock": f"""
        SELECT count(*) FROM subscription_history
        WHERE source_file = 'uploads/{STOPPED}' AND outcome = 'blocked'
    """,
    "inbox observations": "SELECT count(*) FROM observations WHERE source_kind = 'api'",
}


def assert_has_stories(warehouse: Path, stories: dict[str, str]) -> None:
    con = connect(warehouse, read_only=True)
    try:
        for story, sql in stories.items():
            assert (con.execute(sql).fetchone()[0] or 0) >= 1, f"the scenario lacks {story}"
    finally:
        con.close()


def assert_same_tables(expected: Path, actual: Path, stories: dict[str, str] = STORIES) -> None:
    assert_has_stories(expected, stories)
    want, got = read_tables(expected, QUERIES), read_tables(actual, QUERIES)
    for name, rows in want.items():
        assert got[name] == rows, f"{name} differs from the in-process reconcile"


@pytest.fixture
def in_process_warehouse(dagster_home: Path, sample_landing_zone: Path, tmp_path: Path) -> Path:
    zone = copy_zone(sample_landing_zone, tmp_path / "in_process")
    two_nights(zone, "in_process")
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
            runs = two_nights(zone, "celery")
            steps = {name: STEP_LINE.findall(w.log.read_text()) for name, w in workers.items()}

    assert all(record.success for record in runs)
    assert_same_tables(in_process_warehouse, zone / "warehouse.duckdb")
    ours = {record.run_id for record in runs}
    for name, ran in steps.items():
        assert {run_id for run_id, _ in ran} & ours, f"worker {name} ran no step: {ran}"
    ran_steps = {step for ran in steps.values() for _, step in ran}
    assert {"load_staged_step", "resolved_subscriptions"} <= ran_steps
    # One step per partition, off the warehouse, spread over the workers: received days,
    # uploads (both nights) and inbox days.
    for kind, least in (("log", 3), ("upload", 8), ("inbox", 2)):
        staged = {s for s in ran_steps if s.startswith(f"stage_partition_step[{kind}_")}
        assert len(staged) >= least, f"{kind}: {staged}"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_multiprocess_executor_gives_the_in_process_tables(
    dagster_home: Path, sample_landing_zone: Path, tmp_path: Path, in_process_warehouse: Path
) -> None:
    zone = copy_zone(sample_landing_zone, tmp_path / "multiprocess")
    assert all(record.success for record in two_nights(zone, "multiprocess"))
    assert_same_tables(in_process_warehouse, zone / "warehouse.duckdb")
