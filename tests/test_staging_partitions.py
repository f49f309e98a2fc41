"""Staged uploads and inbox days: judged into Parquet without the warehouse, loaded by the one
writer, they give exactly the tables of direct ingestion (EXCEPT ALL both ways empty); re-staging
replaces a partition; a crash while writing leaves no partial partition."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from subscription_pipeline.api.inbox import inbox_path, open_inbox
from subscription_pipeline.erasure import registry
from subscription_pipeline.erasure.apply import copy_registry_suppressions
from subscription_pipeline.erasure.keyed_hash import SECRET_ENV, contact_hash, load_secret
from subscription_pipeline.ingest import api_inbox, csv_outcome
from subscription_pipeline.ingest.api_inbox import ingest_inbox_day
from subscription_pipeline.ingest.csv_upload import ingest_upload, list_uploads
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.ingest.staged_inbox import stage_inbox_day
from subscription_pipeline.ingest.staged_load import load_staged
from subscription_pipeline.ingest.staged_uploads import stage_upload, staged_uploads
from subscription_pipeline.ingest.staging import staged_folder, staging_root
from subscription_pipeline.warehouse.connection import connect
from tests.inbox_files import write_inbox

ERASED_EMAIL = "grace.hopper@example.org"  # booth-scans row 1, next to a phone that stays
ERASED_API = "erin.erased@example.com"
INBOX_DAYS = ["2024-03-02", "2024-03-03"]
# Every table a partition writes; wall-clock columns left out.
TABLES = {
    "observations": "SELECT * FROM {db}.observations",
    "rejections": "SELECT * FROM {db}.rejections",
    "ingest_warnings": "SELECT * FROM {db}.ingest_warnings",
    "suppressed_records": "SELECT * FROM {db}.suppressed_records",
    "input_ledger": "SELECT * EXCLUDE (ingested_at) FROM {db}.input_ledger",
    "normalized_identifiers": "SELECT * FROM {db}.normalized_identifiers",
    "dirty_vectors": "SELECT DISTINCT * FROM {db}.dirty_vectors",
    "upload_times": "SELECT * EXCLUDE (registered_at) FROM {db}.upload_times",
}
# The scenario has what it claims (tables of zeros would compare equal too).
STORIES = {
    "an upload rejected whole": "SELECT count(*) FROM input_ledger WHERE status = 'rejected'",
    "row errors": "SELECT count(*) FROM rejections WHERE source_kind = 'csv' AND row_number > 0",
    "a quoted newline": "SELECT count(*) FROM rejections WHERE contains(raw_record, 'two\\nlines')",
    "an erased contact left out": "SELECT sum(suppressed) FROM input_ledger",
    "its rows placed": "SELECT count(*) FROM suppressed_records WHERE source_kind = 'csv'",
    "an upload that is not a regular file": "SELECT count(*) FROM input_ledger "
    "WHERE error_code = 'NOT_A_REGULAR_FILE'",
    "an upload timed by mtime": "SELECT count(*) FROM upload_times WHERE origin = 'mtime'",
    "inbox observations": "SELECT count(*) FROM observations WHERE source_kind = 'api'",
    "an inbox rejection": "SELECT count(*) FROM rejections WHERE source_kind = 'api'",
    "an inbox contact suppressed by the warehouse": "SELECT count(*) FROM suppressed_records "
    "WHERE source_kind = 'api'",
}


@pytest.fixture
def zones(
    sample_landing_zone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    """Two identical landing zones (uploads with row errors, a rejected upload, quoted newlines,
    an upload without a time prefix, an inbox, an erased contact): one per path."""
    monkeypatch.setenv(SECRET_ENV, "staging-test-secret-0123456789")
    zone = sample_landing_zone
    shutil.rmtree(zone / "segment-logs")
    (zone / "uploads" / "20240305T080000Z_notes.csv").write_text(
        "email,email_subscription_status,consent_text\n"
        'ann@example.com,subscribed,"I agree\nto the newsletter"\n'
        'bad@@example.com,subscribed,"two\nlines"\n'
        "bea@example.com,maybe,\n",
        encoding="utf-8",
    )
    (zone / "uploads" / "no-prefix.csv").write_text(
        f"email,email_subscription_status\n{ERASED_EMAIL},unsubscribed\ncid@example.com,true\n",
        encoding="utf-8",
    )
    # Not a regular file: rejected whole, its time never registered.
    (zone / "uploads" / "linked.csv").symlink_to(zone / "uploads" / "no-prefix.csv")
    write_inbox(zone, ERASED_API)
    with registry.open_registry(zone) as reg:
        registry.check_secret(reg, load_secret())
        for contact in (ERASED_EMAIL, ERASED_API):
            registry.record_forget(reg, contact, contact_hash(contact, load_secret()), "t", None)
    direct = shutil.copytree(zone, tmp_path / "direct", symlinks=True)
    staged = shutil.copytree(zone, tmp_path / "staged", symlinks=True)
    return direct, staged


def _ingest_directly(data_dir: Path) -> Path:
    warehouse = data_dir / "warehouse.duckdb"
    con = connect(warehouse)
    try:
        copy_registry_suppressions(con, data_dir)
        for name in list_uploads(data_dir):
            ingest_upload(con, data_dir, name, IngestSettings())
        for day in INBOX_DAYS:
            ingest_inbox_day(con, data_dir, day)
    finally:
        con.close()
    return warehouse


def _load(data_dir: Path) -> Path:
    warehouse = data_dir / "warehouse.duckdb"
    con = connect(warehouse)
    try:
        copy_registry_suppressions(con, data_dir)  # as the loader's warehouse resource does
        load_staged(con, data_dir)
    finally:
        con.close()
    return warehouse


def _stage_all(data_dir: Path) -> None:
    for name in list_uploads(data_dir):
        stage_upload(data_dir, name, IngestSettings())
    for day in INBOX_DAYS:
        stage_inbox_day(data_dir, day)


def _ingested_days(data_dir: Path) -> list[tuple]:
    con = open_inbox(inbox_path(data_dir))
    try:
        return con.execute("SELECT day, through_seq, entries FROM ingested_days").fetchall()
    finally:
        con.close()


def assert_same_tables(want: Path, got: Path) -> None:
    con = connect(got)
    try:
        con.execute("ATTACH ? AS want (READ_ONLY)", [str(want)])
        for story, sql in STORIES.items():
            assert (con.execute(sql).fetchone()[0] or 0) >= 1, f"the scenario lacks {story}"
        for table, sql in TABLES.items():
            mine, theirs = sql.format(db="main"), sql.format(db="want")
            for left, right in ((mine, theirs), (theirs, mine)):
                extra = con.execute(f"{left} EXCEPT ALL {right}").fetchall()
                assert extra == [], f"{table}: {extra[:3]}"
    finally:
        con.close()


def test_staged_uploads_and_inbox_days_load_to_the_direct_tables(
    zones: tuple[Path, Path],
) -> None:
    direct, staged = zones
    want = _ingest_directly(direct)

    _stage_all(staged)
    _stage_all(staged)  # re-staging replaces each partition's files
    assert not list(staged.glob("*.duckdb")), "staging must not create the warehouse"
    assert staged_uploads(staged) == list_uploads(staged)
    assert _ingested_days(staged) == [], "the inbox is marked only after the loader's commit"
    got = _load(staged)
    assert staged_uploads(staged) == [], "loaded folders are removed"
    assert_same_tables(want, got)
    assert _ingested_days(staged) == _ingested_days(direct) != []

    # Staged again and loaded again after the first load: the partitions are replaced, not added.
    _stage_all(staged)
    _load(staged)
    assert_same_tables(want, got)


def test_a_crash_inside_the_writer_leaves_no_partial_partition(
    zones: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, data_dir = zones
    name, day = "20240304T101500Z_booth-scans.csv", INBOX_DAYS[0]
    stage_upload(data_dir, name, IngestSettings())
    stage_inbox_day(data_dir, day)
    kept = {
        folder: {p.name: p.read_bytes() for p in folder.iterdir()}
        for folder in (
            staged_folder(data_dir, csv_outcome.SOURCE_KIND, name),
            staged_folder(data_dir, api_inbox.SOURCE_KIND, day),
        )
    }
    write = pl.DataFrame.write_parquet
    calls = []

    def crash_on_second_file(frame: pl.DataFrame, path: object, **kwargs: object) -> None:
        calls.append(path)
        if len(calls) == 2:  # one Parquet file written, the worker dies writing the next
            raise RuntimeError("worker died")
        write(frame, path, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", crash_on_second_file)
    for stage in (
        lambda: stage_upload(data_dir, name, IngestSettings()),
        lambda: stage_inbox_day(data_dir, day),
    ):
        calls.clear()
        with pytest.raises(RuntimeError, match="worker died"):
            stage()
    monkeypatch.setattr(pl.DataFrame, "write_parquet", write)

    for kind in (csv_outcome.SOURCE_KIND, api_inbox.SOURCE_KIND):
        left = sorted(p.name for p in staging_root(data_dir, kind).iterdir())
        assert not [n for n in left if n.startswith(".")], f"temporary folder left: {left}"
    for folder, files in kept.items():
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == files
    # A partition that never staged completely is not there at all.
    other = "20240302T060000Z_crm-export.csv"
    monkeypatch.setattr(pl.DataFrame, "write_parquet", crash_on_second_file)
    calls.clear()
    with pytest.raises(RuntimeError):
        stage_upload(data_dir, other, IngestSettings())
    assert not staged_folder(data_dir, csv_outcome.SOURCE_KIND, other).exists()
