"""Helpers that write real upload files into a test's landing zone and read back what they made."""

from __future__ import annotations

import csv
import io
import os
from datetime import datetime
from pathlib import Path

import duckdb

from subscription_pipeline.ingest.csv_upload import UPLOADS_DIR, ingest_upload
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.ingest.store import LedgerEntry
from subscription_pipeline.warehouse.connection import connect


def csv_text(header: list[str], rows: list[list[str]], newline: str = "\n") -> str:
    """A CSV document, quoted only where needed (commas, quotes, newlines)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_upload(
    data_dir: Path,
    name: str,
    content: str | bytes,
    *,
    bom: bool = False,
    mtime: datetime | None = None,
) -> Path:
    """Write `content` as data_dir/uploads/<name> (UTF-8, optional BOM, optional mtime)."""
    path = data_dir / UPLOADS_DIR / name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    if mtime is not None:
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return path


def open_warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A fresh warehouse file under the test's own tmp_path."""
    return connect(tmp_path / "warehouse.duckdb", threads=1)


def ingest(
    con: duckdb.DuckDBPyConnection,
    data_dir: Path,
    name: str,
    settings: IngestSettings | None = None,
) -> LedgerEntry:
    return ingest_upload(con, data_dir, name, settings or IngestSettings())


def observations(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple]:
    """(row_number, channel, contact, group, status) of one upload, sorted."""
    return con.execute(
        """
        SELECT row_number, channel, contact, subscription_group, status
        FROM observations WHERE partition_key = ? AND source_kind = 'csv'
        ORDER BY row_number, channel, contact, subscription_group NULLS FIRST
        """,
        [name],
    ).fetchall()


def rejections(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple]:
    """(row_number, error_code) of one upload, sorted."""
    return con.execute(
        """
        SELECT row_number, error_code FROM rejections
        WHERE partition_key = ? AND source_kind = 'csv'
        ORDER BY row_number NULLS FIRST, error_code
        """,
        [name],
    ).fetchall()
