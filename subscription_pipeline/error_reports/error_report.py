"""Per-upload error report in the Engage format (SPEC 4): fix it, drop three columns, upload again.

One line per (row, error): the row's original columns, exactly as in the upload, then
`row_number`, `error_code`, `error_message`. Rows come from the upload's rejections and from the
resolution's blocked outcomes (`subscription_history`, when that table exists). A file-level
rejection has no rows: its report is the single line `,<error_code>,<error_message>` under the
three extra columns, since the upload's own columns cannot be trusted.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import polars as pl

from subscription_pipeline.error_reports.erased_rows import blank_erased_identifiers, erased_rows
from subscription_pipeline.ingest.csv_outcome import SOURCE_KIND, UPLOADS_DIR, upload_source_file
from subscription_pipeline.ingest.csv_read import field_column, parse_upload, read_upload_bytes
from subscription_pipeline.reconciliation_report.tables import table_exists

REPORT_COLUMNS = ("row_number", "error_code", "error_message")
# Re-reading an upload that was already accepted: its limits were checked at ingestion.
_NO_LIMIT = 2**62

_REJECTIONS_SQL = """
    SELECT row_number, error_code, error_message, 0 AS rank
    FROM rejections
    WHERE source_kind = ? AND partition_key = ?
"""
# Rows of erased contacts (erasure/enforce.py): said, never repeated (SPEC 3).
_SUPPRESSED_SQL = """
    SELECT DISTINCT row_number, 'SUPPRESSED' AS error_code,
           'the ' || channel || ' contact of this row was erased on request and is suppressed: '
               || 'left out, never stored' AS error_message,
           2 AS rank
    FROM suppressed_records
    WHERE source_kind = ? AND partition_key = ?
"""
_BLOCKED_SQL = """
    SELECT row_number,
           reason AS error_code,
           format(
               'blocked: {} {} for {} {}{} ({})', source_kind, observed_status, channel, contact,
               coalesce(' group ' || subscription_group, ''), reason
           ) AS error_message,
           1 AS rank
    FROM history_steps
    WHERE source_kind = ? AND source = ? AND outcome = 'blocked'
"""


def report_path(reports_dir: Path, file_name: str) -> Path:
    """`<upload file name>.errors.csv`: the whole name, so `x.csv` and `x.CSV` never share one."""
    return Path(reports_dir) / f"{file_name}.errors.csv"


def upload_errors(con: duckdb.DuckDBPyConnection, file_name: str) -> pl.DataFrame:
    """row_number (NULL = whole file), error_code, error_message of one upload, in report order."""
    sql, params = _REJECTIONS_SQL, [SOURCE_KIND, file_name]
    sql += " UNION ALL " + _SUPPRESSED_SQL
    params += [SOURCE_KIND, file_name]
    if table_exists(con, "history_steps"):
        sql += " UNION ALL " + _BLOCKED_SQL
        params += [SOURCE_KIND, file_name]
    frame = con.sql(sql, params=params).pl()
    return frame.sort("row_number", "rank", "error_code", nulls_last=False).drop("rank")


def _upload_rows(con: duckdb.DuckDBPyConnection, data_dir: Path, file_name: str) -> pl.DataFrame:
    """The upload's rows with its original header, checked to be the content that was ingested."""
    data = read_upload_bytes(Path(data_dir) / UPLOADS_DIR / file_name, _NO_LIMIT)
    ledger = con.execute(
        "SELECT content_sha256 FROM input_ledger WHERE source_file = ?",
        [upload_source_file(file_name)],
    ).fetchall()
    ingested = ledger[0][0] if ledger else None
    if ingested and ingested != hashlib.sha256(data).hexdigest():
        raise RuntimeError(
            f"{file_name} changed since it was ingested: ingest it again before its error report"
        )
    upload = parse_upload(data, _NO_LIMIT)
    return upload.rows.select(
        "row_number",
        *(pl.col(field_column(i)).alias(name) for i, name in enumerate(upload.header)),
    )


def _write_atomically(frame: pl.DataFrame, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    frame.write_csv(partial)
    os.replace(partial, target)


def write_error_report(
    con: duckdb.DuckDBPyConnection, data_dir: Path, file_name: str, reports_dir: Path
) -> Path | None:
    """Engage-format error CSV for one upload: the original columns of each failing row plus
    row_number, error_code, error_message; None (and any stale report removed) when the upload
    has no errors."""
    target = report_path(reports_dir, file_name)
    errors = upload_errors(con, file_name)
    if errors.is_empty():
        target.unlink(missing_ok=True)
        return None
    if errors.get_column("row_number").has_nulls():
        report = errors.filter(pl.col("row_number").is_null())
    else:
        rows = _upload_rows(con, data_dir, file_name)
        originals = [name for name in rows.columns if name != "row_number"]
        rows = blank_erased_identifiers(rows, erased_rows(con, file_name))
        report = errors.join(rows, on="row_number", how="left", maintain_order="left").select(
            *originals, *REPORT_COLUMNS
        )
    _write_atomically(report, target)
    return target


_FINGERPRINTS_SQL = """
    WITH errors AS (
        SELECT partition_key AS file_name, hash(row_number, error_code, error_message) AS h
        FROM rejections WHERE source_kind = ?
        UNION ALL
        SELECT source, hash(row_number, reason, channel, contact, subscription_group,
                            observed_status)
        FROM history_steps WHERE source_kind = ? AND outcome = 'blocked'
        UNION ALL
        SELECT partition_key, hash(row_number, channel, 'SUPPRESSED')
        FROM suppressed_records WHERE source_kind = ?
    ),
    digests AS (
        SELECT file_name, count(*) AS errors, sum(h) AS digest FROM errors GROUP BY file_name
    )
    SELECT l.partition_key,
           concat_ws(':', coalesce(d.errors, 0), coalesce(d.digest, 0), l.content_sha256)
    FROM input_ledger l LEFT JOIN digests d ON d.file_name = l.partition_key
    WHERE l.source_kind = ? AND list_contains(?, l.partition_key)
"""


def error_fingerprints(con: duckdb.DuckDBPyConnection, file_names: list[str]) -> dict[str, str]:
    """Per upload, a digest of what its report is made of (its errors, its content), computed
    for all uploads in one pass over rejections and history."""
    if not table_exists(con, "history_steps"):
        return {}
    rows = con.execute(
        _FINGERPRINTS_SQL, [SOURCE_KIND, SOURCE_KIND, SOURCE_KIND, SOURCE_KIND, file_names]
    ).fetchall()
    return dict(rows)


def refresh_error_reports(
    con: duckdb.DuckDBPyConnection, data_dir: Path, file_names: list[str], reports_dir: Path
) -> tuple[list[Path], int]:
    """`write_error_report` for the uploads whose errors or content changed since their report
    was written (or whose report file is gone). Returns (every current report, how many written)."""
    fingerprints = error_fingerprints(con, file_names)
    stored = dict(
        con.execute(
            "SELECT file_name, fingerprint FROM error_report_fingerprints "
            "WHERE list_contains(?, file_name)",
            [file_names],
        ).fetchall()
    )
    reports: list[Path] = []
    written = 0
    for file_name in file_names:
        target = report_path(reports_dir, file_name)
        fingerprint = fingerprints.get(file_name)
        has_errors = fingerprint is not None and not fingerprint.startswith("0:")
        fresh = fingerprint is not None and stored.get(file_name) == fingerprint
        if fresh and (target.exists() or not has_errors):
            if has_errors:
                reports.append(target)
            continue
        report = write_error_report(con, data_dir, file_name, reports_dir)
        written += 1
        if report is not None:
            reports.append(report)
        if fingerprint is not None:
            con.execute(
                "INSERT OR REPLACE INTO error_report_fingerprints VALUES (?, ?)",
                [file_name, fingerprint],
            )
    return reports, written
