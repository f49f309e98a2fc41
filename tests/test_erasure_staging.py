"""Suppression on the staged path (multiprocess/celery): a log day ingested into a scratch
database and loaded from Parquet leaves out an erased contact exactly as a direct ingest does."""

from __future__ import annotations

from pathlib import Path

import pytest

from subscription_pipeline.erasure import registry
from subscription_pipeline.erasure.apply import copy_registry_suppressions
from subscription_pipeline.erasure.keyed_hash import SECRET_ENV, contact_hash, load_secret
from subscription_pipeline.ingest.event_logs import ingest_log_day, list_log_days
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.ingest.staged_load import load_staged
from subscription_pipeline.ingest.staged_logs import stage_log_day
from subscription_pipeline.warehouse.connection import connect

PHONE = "+17202634410"  # Story 1 of data/README.md: an identify and texts in the logs


def _outcome(warehouse: Path) -> tuple[list, list]:
    con = connect(warehouse)
    try:
        contacts = con.execute(
            "SELECT count(*) FROM observations WHERE contact = ?", [PHONE]
        ).fetchall()
        ledger = con.execute(
            "SELECT source_file, rows_in, applied, ignored, rejected, suppressed "
            "FROM input_ledger ORDER BY source_file"
        ).fetchall()
    finally:
        con.close()
    return contacts, ledger


def test_a_staged_day_honours_a_suppression_like_a_direct_ingest(
    sample_landing_zone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "staging-test-secret-0123456789")
    data_dir, settings = sample_landing_zone, IngestSettings()
    with registry.open_registry(data_dir) as reg:
        registry.check_secret(reg, load_secret())
        digest = contact_hash(PHONE, load_secret())
        registry.record_forget(reg, PHONE, digest, "os:test", None)
    days = list_log_days(data_dir)

    direct = tmp_path / "direct.duckdb"
    con = connect(direct)
    try:
        copy_registry_suppressions(con, data_dir)
        for day in days:
            ingest_log_day(con, data_dir, day, settings)
    finally:
        con.close()

    staged = tmp_path / "staged.duckdb"
    for day in days:
        stage_log_day(data_dir, day, settings)
    con = connect(staged)
    try:
        copy_registry_suppressions(con, data_dir)
        assert load_staged(con, data_dir).log_days == days
    finally:
        con.close()

    want, got = _outcome(direct), _outcome(staged)
    assert want[0] == [(0,)], "a direct ingest leaves the erased contact out"
    assert sum(row[5] for row in want[1]) >= 1, "the sample logs name the contact"
    assert got == want
