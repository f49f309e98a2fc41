"""Staged log days: a day's outcome as Parquet files, then the loader writes them.

`stage_log_day` needs no warehouse: it runs the day's ordinary ingestion (`ingest_log_day`)
against a private scratch DuckDB and writes what that produced (observations, their evidence,
rejections, warnings, suppressed records, log_messages, ledger rows, normalised keys) into the
staging area (`staging.stage_partition`: atomic, a re-run replaces the day).

`load_log_days` runs inside the loader's one transaction (`staged_load.load_staged`): it
replaces each staged day's rows in the warehouse, queues the vectors that changed, and recounts
the duplicates across days (a messageId's winner is global, so a staged day alone cannot know
it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from subscription_pipeline.erasure.apply import copy_registry_suppressions
from subscription_pipeline.ingest.event_logs import SOURCE_KIND, ingest_log_day
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.ingest.staging import stage_partition, staged_files, staged_partitions
from subscription_pipeline.ingest.store import LedgerEntry, clear_partition, mark_dirty_observations
from subscription_pipeline.warehouse.connection import connect

# The tables a log day writes, each staged as <table>.parquet.
STAGED_TABLES = (
    "observations",
    "record_evidence",
    "rejections",
    "ingest_warnings",
    "suppressed_records",
    "log_messages",
    "input_ledger",
    "normalized_identifiers",
)


def staged_days(data_dir: Path) -> list[str]:
    """The days staged and not yet loaded."""
    return staged_partitions(data_dir, SOURCE_KIND)


def stage_log_day(
    data_dir: Path, day: str, settings: IngestSettings, memory_limit: str | None = None
) -> list[LedgerEntry]:
    """Ingest `day` into Parquet files under the staging area; the warehouse is not opened."""

    def write(folder: Path) -> list[LedgerEntry]:
        con = connect(folder / "scratch.duckdb", memory_limit=memory_limit)
        try:
            # Suppressions in force now: the day's erased contacts are left out and counted
            # (write_ledger_entry) here, as a direct ingest into the warehouse does.
            copy_registry_suppressions(con, data_dir)
            entries = ingest_log_day(con, data_dir, day, settings)
            for table in STAGED_TABLES:
                # Table names come from the constant above, never from input.
                con.sql(f"SELECT * FROM {table}").write_parquet(str(folder / f"{table}.parquet"))
        finally:
            con.close()
        for leftover in folder.glob("scratch.duckdb*"):
            leftover.unlink()
        shutil.rmtree(folder / ".duckdb_tmp", ignore_errors=True)
        return entries

    return stage_partition(data_dir, SOURCE_KIND, day, write)


def _files(data_dir: Path, days: list[str], table: str) -> list[str]:
    return staged_files(data_dir, SOURCE_KIND, days, table)


def load_log_days(con: duckdb.DuckDBPyConnection, data_dir: Path, days: list[str]) -> None:
    """Replace the warehouse rows of the staged `days`; inside the loader's transaction."""
    if not days:
        return
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _staged_messages AS "
        "SELECT * FROM read_parquet(?, union_by_name = true)",
        [_files(data_dir, days, "log_messages")],
    )
    # The messageIds these days held before or hold now: only their copies change winner.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _log_touched AS "
        "SELECT message_id FROM log_messages WHERE list_contains(?, partition_key) "
        "UNION SELECT message_id FROM _staged_messages",
        [days],
    )
    con.execute(_DUPLICATES_BEFORE, [days])
    mark_dirty_observations(
        con,
        "source_kind IN ('event', 'keyword') AND NOT list_contains(?, partition_key) "
        "AND message_id IN (SELECT message_id FROM _log_touched)",
        [days],
    )
    for day in days:
        clear_partition(con, SOURCE_KIND, day)
    for table in STAGED_TABLES:
        if table == "normalized_identifiers":
            continue
        if table == "log_messages":
            con.execute("INSERT INTO log_messages BY NAME SELECT * FROM _staged_messages")
            continue
        # Table names come from the constant above; file paths travel as parameters.
        con.execute(
            f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet(?, union_by_name = true)",
            [_files(data_dir, days, table)],
        )
    con.execute(
        "INSERT INTO normalized_identifiers BY NAME "
        "SELECT DISTINCT * FROM read_parquet(?, union_by_name = true) s "
        "WHERE NOT EXISTS (SELECT 1 FROM normalized_identifiers n "
        "WHERE n.kind = s.kind AND n.region = s.region AND n.raw = s.raw)",
        [_files(data_dir, days, "normalized_identifiers")],
    )
    # A staged ledger row counted only its own day's copies: start these days fresh.
    con.execute(
        "UPDATE input_ledger SET applied = applied + duplicate, duplicate = 0 "
        "WHERE source_kind = ? AND list_contains(?, partition_key)",
        [SOURCE_KIND, days],
    )
    mark_dirty_observations(
        con, "source_kind IN ('event', 'keyword') AND list_contains(?, partition_key)", [days]
    )
    con.execute(_RECOUNT_DUPLICATES)
    for temp in ("_staged_messages", "_log_touched", "_log_dup_before"):
        con.execute(f"DROP TABLE IF EXISTS {temp}")


# Per file of the days not being loaded: its applied copies among the touched messages that
# another copy wins (the message_winners rule), before the load.
_DUPLICATES_BEFORE = """
CREATE OR REPLACE TEMP TABLE _log_dup_before AS
SELECT source_file, count(*) AS duplicate
FROM (
    SELECT partition_key, source_file, outcome,
        row_number() OVER (
            PARTITION BY message_id ORDER BY received_at NULLS LAST, source_file, line_number
        ) AS copy
    FROM log_messages SEMI JOIN _log_touched USING (message_id)
)
WHERE outcome = 'applied' AND copy > 1 AND NOT list_contains(?, partition_key)
GROUP BY source_file
"""

# The same count after the load, every day included; each file's applied/duplicate split moves
# by the difference (their sum is fixed). Loaded days start from duplicate 0 and no "before".
_RECOUNT_DUPLICATES = """
UPDATE input_ledger
SET applied = input_ledger.applied - d.delta, duplicate = input_ledger.duplicate + d.delta
FROM (
    SELECT source_file, coalesce(a.duplicate, 0) - coalesce(b.duplicate, 0) AS delta
    FROM (
        SELECT source_file, count(*) AS duplicate
        FROM (
            SELECT source_file, outcome,
                row_number() OVER (
                    PARTITION BY message_id
                    ORDER BY received_at NULLS LAST, source_file, line_number
                ) AS copy
            FROM log_messages SEMI JOIN _log_touched USING (message_id)
        )
        WHERE outcome = 'applied' AND copy > 1
        GROUP BY source_file
    ) a
    FULL OUTER JOIN _log_dup_before b USING (source_file)
) d
WHERE input_ledger.source_file = d.source_file
    AND input_ledger.source_kind = 'event_log'
    AND d.delta <> 0
"""
