"""Removing one contact from every table of the warehouse, audit tables included (SPEC 3).

In one transaction: its observations go (their rows are counted `suppressed` in the ledger and
placed in `suppressed_records`, so the accounting still balances and a re-ingest gives the same
counts), then every row of a table keyed by `contact`, then what names it elsewhere: rejected
records and messages are redacted, the normalisation cache forgets its spellings, and a last
sweep clears any other text column holding a spelling. The vectors are gone, not re-resolved:
nothing of the contact is left to resolve, and no other vector depends on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from subscription_pipeline.erasure.enforce import REDACTED
from subscription_pipeline.erasure.search import text_columns
from subscription_pipeline.warehouse.connection import transaction

# Free-text columns: a spelling inside the text counts. Elsewhere only a whole value does, so
# that another contact whose number merely contains these digits is never touched.
FREE_TEXT = frozenset(
    {"raw_record", "error_message", "warning_message", "evidence", "reason", "response"}
)
_LEDGER_KIND = "CASE source_kind WHEN 'csv' THEN 'csv' WHEN 'api' THEN 'api' ELSE 'event_log' END"


@dataclass(frozen=True)
class PurgeCounts:
    observations: int
    records: int  # CSV rows, log lines, inbox entries moved from applied to suppressed
    cleared_values: int  # other values redacted or cleared by the sweep


def purge_contact(
    con: duckdb.DuckDBPyConnection, contact: str, spellings: list[str]
) -> PurgeCounts:
    with transaction(con):
        observations, records = _erase_observations(con, contact)
        for table in _contact_tables(con):
            # Names come from the catalogue, quoted; the contact is a parameter.
            con.execute(f'DELETE FROM "{table}" WHERE contact = ?', [contact])
        con.execute(
            "DELETE FROM normalized_identifiers WHERE normalized = ? "
            "OR list_contains(?, lower(trim(raw)))",
            [contact, spellings],
        )
        cleared = _sweep(con, spellings)
    con.execute("CHECKPOINT")  # the write-ahead log held the deleted values too
    return PurgeCounts(observations, records, cleared)


def _erase_observations(con: duckdb.DuckDBPyConnection, contact: str) -> tuple[int, int]:
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _erase_obs AS
        SELECT rowid AS rid, {_LEDGER_KIND} AS ledger_kind, source_kind, partition_key,
               source_file, row_number, channel
        FROM observations WHERE contact = ?
        """,  # a constant expression, no data
        [contact],
    )
    (observations,) = con.execute("SELECT count(*) FROM _erase_obs").fetchone()
    if not observations:
        con.execute("DROP TABLE _erase_obs")
        return 0, 0
    con.execute(
        "INSERT INTO suppressed_records SELECT DISTINCT ledger_kind, partition_key, source_file, "
        "row_number, channel FROM _erase_obs"
    )
    con.execute(
        "UPDATE rejections r SET raw_record = NULL, error_message = ? FROM _erase_obs e "
        "WHERE r.source_kind = e.ledger_kind AND r.source_file = e.source_file "
        "AND r.row_number = e.row_number",
        [REDACTED],
    )
    con.execute("DELETE FROM observations WHERE rowid IN (SELECT rid FROM _erase_obs)")
    # Records with nothing left; a log line that was a losing copy was counted duplicate.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _erase_records AS
        SELECT DISTINCT e.ledger_kind, e.source_file, e.row_number,
               e.ledger_kind = 'event_log' AND NOT EXISTS (
                   SELECT 1 FROM message_winners w
                   WHERE w.source_file = e.source_file AND w.line_number = e.row_number
               ) AS was_duplicate
        FROM _erase_obs e
        WHERE NOT EXISTS (
            SELECT 1 FROM observations o
            WHERE o.source_file = e.source_file AND o.row_number = e.row_number
              AND o.source_kind = e.source_kind
        )
        """
    )
    con.execute(
        """
        UPDATE input_ledger l
        SET applied = l.applied - c.applied, duplicate = l.duplicate - c.duplicate,
            suppressed = l.suppressed + c.applied + c.duplicate
        FROM (
            SELECT source_file, count(*) FILTER (NOT was_duplicate) AS applied,
                   count(*) FILTER (was_duplicate) AS duplicate
            FROM _erase_records GROUP BY source_file
        ) c
        WHERE l.source_file = c.source_file
        """
    )
    con.execute(
        "UPDATE log_messages m SET outcome = 'suppressed' FROM _erase_records r "
        "WHERE r.ledger_kind = 'event_log' AND m.source_file = r.source_file "
        "AND m.line_number = r.row_number"
    )
    # A record with nothing left keeps no evidence (its IP, user agent, words).
    con.execute(
        "DELETE FROM record_evidence e USING _erase_records r "
        "WHERE e.source_file = r.source_file AND e.row_number = r.row_number"
    )
    (records,) = con.execute("SELECT count(*) FROM _erase_records").fetchone()
    con.execute("DROP TABLE _erase_records")
    con.execute("DROP TABLE _erase_obs")
    return observations, records


def _contact_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [table for table, column, _ in text_columns(con) if column == "contact"]


def _sweep(con: duckdb.DuckDBPyConnection, spellings: list[str]) -> int:
    """Clear any other value that names the contact: NULL where allowed, else a marker."""
    cleared = 0
    for table, column, nullable in text_columns(con):
        if column in FREE_TEXT:
            match = f'list_bool_or([contains(lower("{column}"), s) FOR s IN ?])'
            value = "NULL" if nullable else "'[erased]'"
            if column == "error_message":
                value = "?"
        else:
            match = f'list_contains(?, lower(trim("{column}")))'
            value = "NULL" if nullable else "'[erased]'"
        params = [REDACTED, spellings] if value == "?" else [spellings]
        # Names come from the catalogue, quoted; values travel as parameters.
        cursor = con.execute(
            f'UPDATE "{table}" SET "{column}" = {value} WHERE {match}',
            params,
        )
        cleared += cursor.fetchone()[0]
    return cleared
