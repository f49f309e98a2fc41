"""Whole-table rules in SQL: they scan millions of rows in DuckDB, only failures reach Python."""

from __future__ import annotations

import duckdb
import polars as pl

from subscription_pipeline.quality.models import (
    CHANNELS,
    ERROR_CODES,
    LEDGER_SOURCE_KINDS,
    LEDGER_STATUSES,
    OUTCOMES,
    REASONS,
    STATE_SOURCES,
    STATUSES,
)
from subscription_pipeline.quality.result import (
    MAX_FAILURE_ROWS,
    CheckResult,
    failures_table,
    verdict,
)
from subscription_pipeline.reconciliation_report.tables import table_exists

# (table, column, allowed values, NULL allowed): the closed vocabularies of each table
# (history_steps: the stored columns of the subscription_history view).
VOCABULARY = (
    ("subscription_state", "channel", CHANNELS, False),
    ("subscription_state", "status", STATUSES, True),
    ("subscription_state", "source", STATE_SOURCES, True),
    ("history_steps", "channel", CHANNELS, False),
    ("history_steps", "source_kind", STATE_SOURCES, False),
    ("history_steps", "observed_status", STATUSES, False),
    ("history_steps", "outcome", OUTCOMES, False),
    ("history_steps", "reason", REASONS, True),
    ("history_steps", "status_after", STATUSES, True),
    ("rejections", "error_code", ERROR_CODES, False),
    ("input_ledger", "source_kind", LEDGER_SOURCE_KINDS, False),
    ("input_ledger", "status", LEDGER_STATUSES, False),
)


def check_state_key_unique(con: duckdb.DuckDBPyConnection) -> CheckResult:
    """One row per (channel, contact, subscription_group); GROUP BY treats NULL groups as equal."""
    name = "subscription_state key is unique"
    if not table_exists(con, "subscription_state"):
        return _missing(name, "subscription_state")
    duplicates = con.sql(
        """
        SELECT channel, contact, subscription_group, count(*)::BIGINT AS rows
        FROM subscription_state
        GROUP BY channel, contact, subscription_group
        HAVING count(*) > 1
        ORDER BY rows DESC, channel, contact, subscription_group NULLS FIRST
        """
    ).pl()
    [(total,)] = con.execute("SELECT count(*) FROM subscription_state").fetchall()
    passed = duplicates.is_empty()
    detail = f"{total} rows" if passed else f"{duplicates.height} keys appear more than once"
    return _result(name, passed, duplicates, detail, total)


def check_vocabulary(con: duckdb.DuckDBPyConnection) -> CheckResult:
    """Every status, channel, source kind, outcome, reason and error code is a known value."""
    name = "values within the vocabulary"
    frames = []
    scanned = 0
    for table, column, allowed, nullable in VOCABULARY:
        if not table_exists(con, table):
            frames.append(_bad_value(table, column, "(table is missing)", 0))
            continue
        # Table and column come from VOCABULARY above; the values travel as parameters.
        frames.append(
            con.sql(
                f"""
                SELECT ? AS "table", ? AS "column", {column}::VARCHAR AS value,
                       count(*)::BIGINT AS rows
                FROM {table}
                WHERE CASE WHEN {column} IS NULL THEN NOT ? ELSE NOT list_contains(?, {column})
                      END
                GROUP BY ALL
                """,
                params=[table, column, nullable, list(allowed)],
            ).pl()
        )
        scanned += 1
    failures = pl.concat(frames).sort("table", "column", "rows", descending=[False, False, True])
    passed = failures.is_empty()
    detail = (
        f"{scanned} columns checked"
        if passed
        else f"{failures['rows'].sum()} values outside the vocabulary"
    )
    return _result(name, passed, failures, detail, scanned)


def check_accounting(con: duckdb.DuckDBPyConnection) -> CheckResult:
    """Per ledger row: rows_in = applied + ignored + duplicate + rejected + suppressed (SPEC 4)."""
    name = "every input row accounted for"
    if not table_exists(con, "input_ledger"):
        return _missing(name, "input_ledger")
    unbalanced = con.sql(
        """
        SELECT source_file, source_kind, rows_in, applied, ignored, duplicate, rejected,
               suppressed,
               (rows_in - applied - ignored - duplicate - rejected - suppressed)::BIGINT
                   AS unaccounted
        FROM input_ledger
        WHERE rows_in IS DISTINCT FROM applied + ignored + duplicate + rejected + suppressed
           OR least(rows_in, applied, ignored, duplicate, rejected, suppressed) < 0
        ORDER BY abs(unaccounted) DESC NULLS FIRST, source_file
        """
    ).pl()
    [(files, rows_in)] = con.execute(
        "SELECT count(*), coalesce(sum(rows_in), 0)::BIGINT FROM input_ledger"
    ).fetchall()
    passed = unbalanced.is_empty()
    detail = (
        f"{files} files, {rows_in} rows balance"
        if passed
        else f"{unbalanced.height} of {files} files do not balance"
    )
    return _result(name, passed, unbalanced, detail, files)


def _result(
    name: str, passed: bool, failures: pl.DataFrame, detail: str, rows_checked: int
) -> CheckResult:
    summary = verdict(name, passed, detail)
    if not passed:
        summary += "\n\n" + failures_table(failures)
    return CheckResult(name, passed, failures.head(MAX_FAILURE_ROWS), summary, rows_checked)


def _missing(name: str, table: str) -> CheckResult:
    failures = pl.DataFrame({"table": [table], "problem": ["table is missing"]})
    return CheckResult(name, False, failures, verdict(name, False, f"`{table}` is missing"))


def _bad_value(table: str, column: str, value: str, rows: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"table": [table], "column": [column], "value": [value], "rows": [rows]},
        schema={"table": pl.String, "column": pl.String, "value": pl.String, "rows": pl.Int64},
    )
