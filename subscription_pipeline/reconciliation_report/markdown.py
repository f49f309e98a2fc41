"""The reconciliation report as markdown, for the Dagster UI and the CLI."""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from subscription_pipeline.reconciliation_report.rejections import rejections_by_code
from subscription_pipeline.reconciliation_report.snapshots import (
    changes_since_previous,
    last_runs,
    state_counts,
)
from subscription_pipeline.reconciliation_report.transitions import transition_counts

# A long tail of rejected files would drown the report: show the largest, count the rest.
MAX_TABLE_ROWS = 25
_EMPTY_CELLS = {"status": "(no status)", "subscription_group": "(channel)"}


def markdown_table(frame: pl.DataFrame, limit: int = MAX_TABLE_ROWS) -> str:
    """A markdown table of the first `limit` rows; NULL status/group spelled out, pipes escaped."""
    if frame.is_empty():
        return "_none_"
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * frame.width]
    for row in frame.head(limit).iter_rows(named=True):
        cells = [_cell(name, value) for name, value in row.items()]
        lines.append("| " + " | ".join(cells) + " |")
    if frame.height > limit:
        lines.append(f"\n_… and {frame.height - limit} more rows_")
    return "\n".join(lines)


def _cell(column: str, value: object) -> str:
    if value is None:
        return _EMPTY_CELLS.get(column, "")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).replace("|", "\\|").replace("\n", " ")


def report_markdown(con: duckdb.DuckDBPyConnection) -> str:
    """State now, what changed since the previous run, and the rejections by file and code."""
    runs = last_runs(con)
    parts = ["# Subscription state reconciliation"]
    if runs:
        since = f" (previous run {runs[1].isoformat(sep=' ')})" if len(runs) > 1 else ""
        parts.append(f"Run of {runs[0].isoformat(sep=' ')} UTC{since}.")

    counts = state_counts(con)
    parts += ["## State by channel", markdown_table(_with_total(counts))]

    parts.append("## Changes since the previous run")
    transitions = transition_counts(con, runs[0]) if runs else transition_counts(con)
    if not transitions.is_empty():
        parts += ["Exact changes of this run (a STOP is both `unsubscribed` and `locked`):"]
        parts.append(markdown_table(transitions))
    changes = changes_since_previous(con)
    if runs:
        parts += ["Net change in contacts per status:", markdown_table(changes)]
    else:
        parts.append("_no snapshot recorded yet_")

    rejections = rejections_by_code(con)
    total = int(rejections["rows"].sum()) if not rejections.is_empty() else 0
    parts += [f"## Rejections ({total} rows)", markdown_table(rejections)]
    return "\n\n".join(parts) + "\n"


def _with_total(counts: pl.DataFrame) -> pl.DataFrame:
    """Append a per-channel total row, so the reader sees how many contacts each channel has."""
    if counts.is_empty():
        return counts
    totals = (
        counts.group_by("channel", maintain_order=True)
        .agg(pl.col("contacts").sum())
        .with_columns(pl.lit("total").alias("status"))
        .select(counts.columns)
    )
    is_total = (pl.col("status") == "total").fill_null(False)
    return pl.concat([counts, totals]).sort("channel", is_total, maintain_order=True)
