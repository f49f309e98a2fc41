"""`forget`: the contact disappears from every table and every written file, in every spelling;
its later observations are suppressed on every path; the rest of the state does not move."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from subscription_pipeline import paths
from subscription_pipeline.api.published_state import publish_snapshot
from subscription_pipeline.direct_run import run_engine
from subscription_pipeline.erasure import registry
from subscription_pipeline.erasure.command import run_forget
from subscription_pipeline.erasure.keyed_hash import SECRET_ENV
from subscription_pipeline.erasure.search import find_in_files, find_in_warehouse
from subscription_pipeline.erasure.spellings import contact_spellings
from subscription_pipeline.error_reports.error_report import refresh_error_reports
from subscription_pipeline.export import export_state
from subscription_pipeline.ingest.csv_upload import ingest_upload, list_uploads
from subscription_pipeline.ingest.event_logs import ingest_log_day, list_log_days
from subscription_pipeline.ingest.ledger_file import ledger_file
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.resolve.engine import resolve_pending
from subscription_pipeline.warehouse.connection import connect, connect_engine
from subscription_pipeline.warehouse.publish import publish
from tests.csv_files import csv_text, write_upload
from tests.ledger_checks import unbalanced_files
from tests.test_api_service import put, running_service, settings_for

# Story 1 of data/README.md: an identify, two texts, a blocked CSV row, a START.
PHONE = "+17202634410"
SPELLINGS_IN_INPUTS = ["720-263-4410", "+1 720 263 4410"]
OTHER = "olivia.stone@example.org"


SECRET = "test-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def reconciled_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per module: the sample landing zone, reconciled, with every kind of written
    file naming PHONE. Each test works on its own copy (`landing`)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(SECRET_ENV, SECRET)
        return _reconcile_landing(tmp_path_factory.mktemp("landing") / "data")


@pytest.fixture
def landing(
    reconciled_landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    data_dir = tmp_path / "data"
    shutil.copytree(reconciled_landing, data_dir)
    return data_dir, data_dir / "warehouse.duckdb"


def _reconcile_landing(data_dir: Path) -> Path:
    shutil.copytree(paths.REPO_ROOT / "data", data_dir)
    warehouse = data_dir / "warehouse.duckdb"
    with running_service(settings_for(data_dir)) as client:
        answer = put(client, {"key": "(720) 263-4410", "type": "SMS", "status": "subscribed"})
        assert answer.status_code == 200
    run_engine(data_dir, warehouse)  # uploads, log days, the inbox, then the resolution
    con = connect_engine(warehouse)  # the pipeline writes the engine, then publishes
    try:
        export_state(con, data_dir / "exports")
        refresh_error_reports(con, data_dir, list_uploads(data_dir), data_dir / "reports")
        publish_snapshot(con, data_dir)
        publish(con, warehouse)
    finally:
        con.close()
    return data_dir


_HOLD = (
    "import sys, time, duckdb; con = duckdb.connect(sys.argv[1]); print('holding', flush=True); "
    "time.sleep(60)"
)


def _spellings() -> list[str]:
    return sorted({*contact_spellings(PHONE), *SPELLINGS_IN_INPUTS})


def _state(warehouse: Path, exclude: str) -> tuple[list, list]:
    con = connect(warehouse, read_only=True)
    try:
        state = con.execute(
            "SELECT * FROM subscription_state WHERE contact <> ? ORDER BY ALL", [exclude]
        ).fetchall()
        history = con.execute(
            "SELECT * FROM subscription_history WHERE contact <> ? ORDER BY ALL", [exclude]
        ).fetchall()
    finally:
        con.close()
    return state, history


def _forget(data_dir: Path, warehouse: Path, **kwargs: object) -> int:
    options = {"contact": None, "reason": None, "file": None, "lift": None, "wait_seconds": 5.0}
    return run_forget(data_dir, warehouse, "US", **(options | kwargs))  # type: ignore[arg-type]


def _search(data_dir: Path, warehouse: Path) -> tuple[list, list]:
    con = connect(warehouse, read_only=True)
    try:
        tables = find_in_warehouse(con, _spellings())
    finally:
        con.close()
    # The engine file and the ledger file too (find_in_files reads bytes).
    extra = [paths.engine_warehouse(warehouse), ledger_file(warehouse)]
    return tables, find_in_files(data_dir, _spellings(), extra=extra)


def test_forget_removes_the_contact_from_every_table_and_written_file(landing) -> None:
    data_dir, warehouse = landing
    tables, files = _search(data_dir, warehouse)
    # Before: the contact is everywhere the issue lists.
    found_tables = {table for table, _, _ in tables}
    assert {"observations", "subscription_state", "history_steps"} <= found_tables
    assert {"normalized_identifiers", "rejections"} & found_tables
    names = {path.relative_to(data_dir).parts[0] for path in files}
    assert {"exports", "reports", "snapshot", "inbox"} <= names

    others_before = _state(warehouse, PHONE)
    assert _forget(data_dir, warehouse, contact="720.263.4410", reason="asked by phone") == 0

    assert _search(data_dir, warehouse) == ([], [])
    assert _state(warehouse, PHONE) == others_before
    con = connect(warehouse, read_only=True)
    try:
        unbalanced = unbalanced_files(con)
        (suppressed,) = con.execute("SELECT sum(suppressed) FROM input_ledger").fetchone()
        audit = con.execute("SELECT action, requested_by, reason FROM erasure_audit").fetchall()
    finally:
        con.close()
    assert unbalanced == []
    assert suppressed >= 4  # the identify, the STOP, the CSV row, the START, the API entry
    assert ("forget", audit[0][1], "asked by phone") == audit[0]
    assert audit[0][1].startswith("os:")
    assert [action for action, _, _ in audit] == ["forget", "applied"]
    report = (data_dir / "reports" / "20240303T093000Z_crm-resync.csv.errors.csv").read_text()
    assert "SUPPRESSED" in report


def test_reingest_and_a_new_upload_leave_the_contact_absent(landing) -> None:
    data_dir, warehouse = landing
    others_before = _state(warehouse, PHONE)
    assert _forget(data_dir, warehouse, contact=PHONE) == 0
    write_upload(
        data_dir,
        "20250101T000000Z_comeback.csv",
        csv_text(["phone", "sms_subscription_status"], [["720 263 4410", "subscribed"]]),
    )
    # A row of an erased email rejected whole (a bad status): its raw record is redacted too.
    assert _forget(data_dir, warehouse, contact=OTHER) == 0
    write_upload(
        data_dir,
        "20250102T000000Z_typo.csv",
        csv_text(["email", "email_subscription_status"], [[OTHER.upper(), "yes please"]]),
    )
    # Every partition again (a replayed log day, a re-imported CSV) and the new upload.
    con = connect_engine(warehouse)  # the pipeline writes the engine, then publishes
    try:
        entries = [
            ingest_upload(con, data_dir, n, IngestSettings()) for n in list_uploads(data_dir)
        ]
        for day in list_log_days(data_dir):
            entries += ingest_log_day(con, data_dir, day, IngestSettings())
        resolve_pending(con)
        refresh_error_reports(con, data_dir, list_uploads(data_dir), data_dir / "reports")
        new_upload = con.execute(
            "SELECT rows_in, applied, suppressed FROM input_ledger "
            "WHERE source_file = 'uploads/20250101T000000Z_comeback.csv'"
        ).fetchone()
        publish(con, warehouse)
    finally:
        con.close()
    assert new_upload == (1, 0, 1)
    # What the readers return (a partition's metadata in Dagster) says the same and balances.
    assert all(entry.balanced for entry in entries)
    assert sum(entry.suppressed for entry in entries) >= 5
    assert _search(data_dir, warehouse) == ([], [])
    con = connect(warehouse, read_only=True)
    try:
        assert find_in_warehouse(con, [OTHER]) == []
    finally:
        con.close()
    assert find_in_files(data_dir, [OTHER]) == []
    typo = (data_dir / "reports" / "20250102T000000Z_typo.csv.errors.csv").read_text()
    assert "INVALID_SUBSCRIPTION_STATUS" in typo
    assert _state(warehouse, PHONE)[0] == [s for s in others_before[0] if s[1] != OTHER]
    report = (data_dir / "reports" / "20250101T000000Z_comeback.csv.errors.csv").read_text()
    assert "SUPPRESSED" in report
    assert "4410" not in report


def test_lift_lets_only_new_observations_count(landing) -> None:
    data_dir, warehouse = landing
    assert _forget(data_dir, warehouse, contact=PHONE) == 0
    assert _forget(data_dir, warehouse, lift=PHONE, reason="came back") == 0
    write_upload(
        data_dir,
        "29990101T000000Z_after-lift.csv",
        csv_text(["phone", "sms_subscription_status"], [["720 263 4410", "subscribed"]]),
    )
    con = connect_engine(warehouse)  # the pipeline writes the engine, then publishes
    try:
        for name in list_uploads(data_dir):  # the old upload is older than the lift
            ingest_upload(con, data_dir, name, IngestSettings())
        resolve_pending(con)
        state = con.execute(
            "SELECT status, source_ref FROM subscription_state WHERE contact = ?", [PHONE]
        ).fetchall()
        publish(con, warehouse)
    finally:
        con.close()
    assert state == [("subscribed", "uploads/29990101T000000Z_after-lift.csv:1")]


def test_forget_without_a_secret_is_refused(landing, monkeypatch, capsys) -> None:
    data_dir, warehouse = landing
    monkeypatch.delenv(SECRET_ENV)
    assert _forget(data_dir, warehouse, contact=PHONE) == 2
    assert SECRET_ENV in capsys.readouterr().err
    con = connect(warehouse, read_only=True)
    try:
        assert con.execute(
            "SELECT count(*) FROM subscription_state WHERE contact = ?", [PHONE]
        ).fetchone() == (1,)
    finally:
        con.close()


def test_forget_file_names_bad_rows_and_applies_the_good_ones(landing, tmp_path, capsys) -> None:
    data_dir, warehouse = landing
    requests = tmp_path / "erasures.csv"
    requests.write_text(f"contact,reason\nnot-a-contact,typo\n{OTHER},ticket 42\n")
    assert _forget(data_dir, warehouse, file=requests) == 1
    assert f"{requests} row 1: not a valid" in capsys.readouterr().err
    con = connect(warehouse, read_only=True)
    try:
        assert find_in_warehouse(con, [OTHER]) == []
    finally:
        con.close()


def test_a_busy_warehouse_queues_the_erasure_for_the_next_run(landing) -> None:
    data_dir, warehouse = landing
    # Another process holds the file for writing, as a running reconcile does.
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(paths.engine_warehouse(warehouse))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        assert _forget(data_dir, warehouse, contact=PHONE, wait_seconds=0.5) == 0
        with registry.open_registry(data_dir) as reg:
            assert len(registry.pending(reg)) == 1  # queued, durable
    finally:
        holder.kill()
        holder.wait()
    run_engine(data_dir, warehouse)  # the next run applies the queue first
    assert _search(data_dir, warehouse) == ([], [])
