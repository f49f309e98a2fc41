"""`reconcile` end to end on the committed sample data, through a real Dagster instance."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from subscription_pipeline.cli import main
from subscription_pipeline.orchestration.runner import contiguous_ranges, day_ranges, reconcile
from subscription_pipeline.warehouse.connection import connect
from tests.ledger_checks import unbalanced_files

TABLES = (
    "subscription_state",
    "subscription_history",
    "rejections",
    "observations",
    "record_evidence",
)


def _snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    con = connect(warehouse, read_only=True)
    try:
        # Table names are this module's constants.
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}
    finally:
        con.close()


def test_day_ranges_group_consecutive_days() -> None:
    assert day_ranges(["2024-03-03", "2024-03-01", "2024-03-02", "2024-03-05"]) == [
        ("2024-03-01", "2024-03-03"),
        ("2024-03-05", "2024-03-05"),
    ]
    assert contiguous_ranges(["c", "a"], ["a", "b", "c"]) == [("a", "a"), ("c", "c")]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_reconcile_sample_data_records_runs_and_is_idempotent(
    dagster_home: Path, sample_landing_zone: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    first = reconcile(sample_landing_zone, warehouse)
    assert first.uploads and first.log_days
    assert all(run.success for run in first.runs)

    con = connect(warehouse, read_only=True)
    try:
        assert unbalanced_files(con) == []
        files_on_disk = len(list((sample_landing_zone / "uploads").iterdir()))
        csv_files = con.execute(
            "SELECT count(*) FROM input_ledger WHERE source_kind = 'csv'"
        ).fetchall()[0][0]
        assert csv_files == files_on_disk
        assert con.execute("SELECT count(*) FROM subscription_state").fetchall()[0][0] > 0
        assert con.execute("SELECT count(*) FROM dirty_vectors").fetchall()[0][0] == 0
    finally:
        con.close()

    with dg.DagsterInstance.get() as instance:
        recorded = {run.run_id for run in instance.get_runs()}
    assert {run.run_id for run in first.runs} <= recorded

    # The asset exports the state as Parquet; CSV only for the Engage files (the state's CSV is
    # on demand, and a stale one is removed).
    exports = sorted(p.name for p in (sample_landing_zone / "exports").iterdir())
    assert exports == [
        "engage_email_subscriptions.csv",
        "engage_email_subscriptions.parquet",
        "engage_sms_subscriptions.csv",
        "engage_sms_subscriptions.parquet",
        "subscription_state.parquet",
    ]

    before = _snapshot(warehouse)
    second = reconcile(sample_landing_zone, warehouse)
    assert second.uploads == [] and second.log_days == []
    assert _snapshot(warehouse) == before


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_cli_reconcile_prints_a_summary(
    dagster_home: Path, sample_landing_zone: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    warehouse = tmp_path / "cli.duckdb"
    code = main(
        ["reconcile", "--data-dir", str(sample_landing_zone), "--warehouse", str(warehouse)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Subscription state:" in out and "Rejections by code:" in out


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_backfill_of_ingested_days_and_uploads_changes_nothing(
    dagster_home: Path, sample_landing_zone: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    reconcile(sample_landing_zone, warehouse)
    before = _snapshot(warehouse)
    paths = ["--data-dir", str(sample_landing_zone), "--warehouse", str(warehouse)]
    code = main(["backfill", "--days", "2024-01-01..2030-12-31", "--all-uploads", *paths])
    assert code == 0, capsys.readouterr().err
    uploads = len(list((sample_landing_zone / "uploads").iterdir()))
    assert f"Backfilled {uploads} uploads" in capsys.readouterr().out
    assert _snapshot(warehouse) == before
    # Re-ingested partitions replaced their evidence: still one row per record, so the history
    # view shows each step once.
    con = connect(warehouse, read_only=True)
    try:
        [(records, keys, steps, history)] = con.execute(
            "SELECT (SELECT count(*) FROM record_evidence), "
            "(SELECT count(DISTINCT (source_file, row_number)) FROM record_evidence), "
            "(SELECT count(*) FROM history_steps), (SELECT count(*) FROM subscription_history)"
        ).fetchall()
    finally:
        con.close()
    assert records == keys > 0 and steps == history > 0
    assert main(["backfill", "--upload", "no-such-file.csv", *paths]) == 2
