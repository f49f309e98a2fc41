"""Reading the next received day while this one is parsed and stored.

A day's ingestion has two halves: reading its files (DuckDB decompresses and filters every line,
on all cores) and parsing, judging and storing the lines kept (mostly one thread). One after the
other, a core idles through the second half. `ingest_log_days` stages day k+1 on a second
connection to the same database while day k is stored. The staged table lives in an in-memory
database attached to both connections; it is complete before day k+1's transaction starts, so
that transaction sees it. The rows stored are exactly those of `ingest_log_day` alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb

from subscription_pipeline.ingest.event_logs import ingest_log_day, log_files_for_day
from subscription_pipeline.ingest.log_stage import PrestagedDay, create_stage, stage_files
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.ingest.store import LedgerEntry

PREFETCH_DATABASE = "_log_prefetch"


def _stage_day(
    reader: duckdb.DuckDBPyConnection, data_dir: Path, day: str, index: int
) -> PrestagedDay | None:
    files = log_files_for_day(data_dir, day)
    if not files:
        return None
    table = f"{PREFETCH_DATABASE}.day_{index}"  # a name made here, never input
    create_stage(reader, table)
    return PrestagedDay(table, stage_files(reader, data_dir, files, table=table))


def _drop(con: duckdb.DuckDBPyConnection, prestaged: PrestagedDay | None) -> None:
    if prestaged is not None:
        con.execute(f"DROP TABLE IF EXISTS {prestaged.table}")


def ingest_log_days(
    con: duckdb.DuckDBPyConnection, data_dir: Path, days: Iterable[str], settings: IngestSettings
) -> Iterator[tuple[str, list[LedgerEntry] | None]]:
    """Ingest `days` in order, one transaction each; yield each day's ledger entries, or None
    for a day without log files (nothing is ingested for it)."""
    days = list(days)
    if not days:
        return
    con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {PREFETCH_DATABASE}")
    reader = con.cursor()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="log-prefetch")
    pending: dict[int, Future[PrestagedDay | None]] = {}

    def prefetch(index: int) -> None:
        if index < len(days):
            pending[index] = pool.submit(_stage_day, reader, data_dir, days[index], index)

    try:
        prefetch(0)
        for index, day in enumerate(days):
            prestaged = pending.pop(index).result()
            prefetch(index + 1)
            if prestaged is None:
                yield day, None
                continue
            try:
                entries = ingest_log_day(con, data_dir, day, settings, prestaged)
            finally:
                _drop(con, prestaged)
            yield day, entries
    finally:
        # An error or an abandoned loop: let the read under way finish, then drop what it staged.
        pool.shutdown(wait=True)
        for future in pending.values():
            if future.exception() is None:
                _drop(con, future.result())
        reader.close()
