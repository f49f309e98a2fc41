"""Through Dagster: evidence never reaches a log; a queued erasure is applied by the next run;
a re-subscribing upload of an erased contact is suppressed and counted."""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg
import pytest
from csv_files import csv_text, write_upload

from subscription_pipeline.erasure import registry
from subscription_pipeline.erasure.keyed_hash import SECRET_ENV, contact_hash, load_secret
from subscription_pipeline.erasure.search import find_in_files, find_in_warehouse
from subscription_pipeline.erasure.spellings import contact_spellings
from subscription_pipeline.orchestration.runner import reconcile
from subscription_pipeline.warehouse.connection import connect
from tests.test_consent_evidence import EMAIL, PHONE, write_inputs

EVIDENCE_VALUES = ("203.0.113.7", "Mozilla", "shop.example", "anon-9", "+18005550100")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_reconcile_logs_no_evidence_and_applies_a_queued_erasure(
    dagster_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    monkeypatch.setenv(SECRET_ENV, "end-to-end-secret-0123456789")
    caplog.set_level(logging.DEBUG)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    write_inputs(data_dir)
    warehouse = data_dir / "warehouse.duckdb"
    first = reconcile(data_dir, warehouse)
    assert all(run.success for run in first.runs)

    # No log of ours or of the runs carries evidence (Dagster's event log included).
    assert caplog.records
    assert not any(value in caplog.text for value in EVIDENCE_VALUES)
    instance = dg.DagsterInstance.get()
    for run in first.runs:
        text = "\n".join(str(entry) for entry in instance.all_logs(run.run_id))
        assert not any(value in text for value in EVIDENCE_VALUES)
    exports = data_dir / "exports"
    assert not any(
        value.encode() in path.read_bytes()
        for path in exports.iterdir()
        for value in EVIDENCE_VALUES
    )

    # An erasure recorded while no one applied it (as during a run): the next run applies it.
    secret = load_secret()
    with registry.open_registry(data_dir) as reg:
        registry.check_secret(reg, secret)
        registry.record_forget(reg, EMAIL, contact_hash(EMAIL, secret), "os:test", None)
    write_upload(
        data_dir,
        "20250101T000000Z_comeback.csv",
        csv_text(["email", "email_subscription_status"], [["ANN@example.com ", "subscribed"]]),
    )
    second = reconcile(data_dir, warehouse)
    assert all(run.success for run in second.runs)

    spellings = contact_spellings(EMAIL)
    con = connect(warehouse, read_only=True)
    try:
        assert find_in_warehouse(con, spellings) == []
        ledger = con.execute(
            "SELECT rows_in, applied, suppressed FROM input_ledger "
            "WHERE source_file = 'uploads/20250101T000000Z_comeback.csv'"
        ).fetchone()
        phone = con.execute(
            "SELECT status, locked FROM subscription_state WHERE contact = ?", [PHONE]
        ).fetchall()
    finally:
        con.close()
    assert ledger == (1, 0, 1)
    assert phone == [("unsubscribed", True)]  # nobody else moved
    assert find_in_files(data_dir, spellings) == []
