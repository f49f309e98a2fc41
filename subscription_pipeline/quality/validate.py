"""pandera validation of a table: a bounded, repeatable sample, so millions of rows stay cheap.

The whole-table rules that matter most (key uniqueness, vocabulary, accounting) run in SQL
(`sql_checks`); this catches types, missing columns and row rules on a representative sample.
"""

from __future__ import annotations

import duckdb
import pandera.polars as pa
import polars as pl

from subscription_pipeline.quality.models import MODELS
from subscription_pipeline.quality.result import (
    MAX_FAILURE_ROWS,
    CheckResult,
    failures_table,
    verdict,
)
from subscription_pipeline.reconciliation_report.tables import table_exists

# DuckDB takes no parameter in a SAMPLE clause: the size is written in the queries below.
SAMPLE_ROWS = 10_000
_SAMPLE_SQL = "SELECT * FROM {table} USING SAMPLE reservoir(10000 ROWS) REPEATABLE (42)"

# Where a model's rows are read from. subscription_history is a view: the stored steps with each
# record's evidence joined, which no model checks; sampling the view would compute that join over
# every step (38 s at 5M events), so its stored steps are sampled instead.
_STORED_AS = {"subscription_history": "history_steps"}

FAILURE_SCHEMA = {
    "table": pl.String,
    "failure_case": pl.String,
    "schema_context": pl.String,
    "column": pl.String,
    "check": pl.String,
    "check_number": pl.Int32,
    "index": pl.Int32,
}


def validate_table(con: duckdb.DuckDBPyConnection, table: str) -> CheckResult:
    """Validate a sample of `table` (all of it when small) against its pandera model."""
    model = MODELS[table]  # only known tables: the name below is never input
    name = f"schema of {table}"
    stored = _STORED_AS.get(table, table)
    if not table_exists(con, stored):
        failures = _failures(table, [("table is missing", "DataFrameSchema", table, "exists")])
        return CheckResult(name, False, failures, verdict(name, False, "the table is missing"))
    [(total,)] = con.execute(f"SELECT count(*) FROM {stored}").fetchall()
    sample = con.sql(_SAMPLE_SQL.format(table=stored)).pl()
    try:
        model.validate(sample, lazy=True)
        failures = pl.DataFrame(schema=FAILURE_SCHEMA)
    except pa.errors.SchemaErrors as errors:
        failures = errors.failure_cases.select(
            pl.lit(table).alias("table"), *[pl.col(c) for c in list(FAILURE_SCHEMA)[1:]]
        ).cast(FAILURE_SCHEMA)
    passed = failures.is_empty()
    scope = f"all {total} rows" if sample.height == total else f"{sample.height} of {total} rows"
    detail = f"{scope} validated against `{model.__name__}`"
    summary = verdict(name, passed, detail)
    if not passed:
        by_check = failures.group_by("column", "check", maintain_order=True).agg(
            pl.len().alias("failures"), pl.col("failure_case").first().alias("example")
        )
        summary += f", {failures.height} failure cases\n\n" + failures_table(by_check)
    return CheckResult(name, passed, failures.head(MAX_FAILURE_ROWS), summary, sample.height)


def _failures(table: str, rows: list[tuple[str, str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(table, *row, None, None) for row in rows], schema=FAILURE_SCHEMA, orient="row"
    )
