"""Exporting the subscription state: Parquet/CSV for analysts, and Engage's SQL Traits shape.

Engage's "Subscriptions with SQL Traits" reads one row per contact with the column pairs
`email` + `__segment_internal_email_subscription__` and `phone` +
`__segment_internal_sms_subscription__`, valued `subscribed`, `unsubscribed` or
`did_not_subscribe` (segment-docs, src/engage/user-subscriptions/subscription-sql.md; note the
underscores, unlike the CSV uploader's `did-not-subscribe`). Only channel-level rows are
exported there (Engage's SQL sync has no group column), contacts with no status are left out
(there is nothing to tell Engage), and WhatsApp has no SQL Traits column, so it is only in the
full state export.

Every file is written by DuckDB's COPY to a temporary name in the output folder and renamed
into place, so a crash never leaves a half-written export under the final name. When both
formats are asked for, the CSV is copied from the Parquet file just written, in its order:
the state is sorted once, not twice (about 2 s of the ~11 s export at 2.4M state rows).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from subscription_pipeline.warehouse.columns import STATE_COLUMNS

# Our status -> the value Engage's SQL Traits sync expects. A status outside this map is
# never exported (the quality checks report it).
ENGAGE_STATUS = {
    "subscribed": "subscribed",
    "unsubscribed": "unsubscribed",
    "did_not_subscribe": "did_not_subscribe",
}
# Engage dataset -> (our channel, contact column, status column).
ENGAGE_DATASETS = {
    "engage_email_subscriptions": ("email", "email", "__segment_internal_email_subscription__"),
    "engage_sms_subscriptions": ("sms", "phone", "__segment_internal_sms_subscription__"),
}
STATE_DATASET = "subscription_state"
_COPY_OPTIONS = {
    "parquet": "(FORMAT parquet, COMPRESSION zstd)",
    "csv": "(FORMAT csv, HEADER true, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S.%f')",
}

# Column names are code (warehouse/columns.py), never data.
_STATE_QUERY = f"SELECT {', '.join(STATE_COLUMNS)} FROM subscription_state\n"
# A sorted COPY writes Parquet on one thread: at 2.4M state rows it costs ~3x an unsorted one.
_STATE_ORDER = "ORDER BY channel, contact, subscription_group NULLS FIRST"

# Statuses are mapped with a CASE built from parameters, so the map above stays the one truth.
_ENGAGE_QUERY = """
SELECT contact AS "{contact_column}",
       CASE status {cases} END AS "{status_column}"
FROM subscription_state
WHERE channel = ? AND subscription_group IS NULL AND list_contains(?, status)
ORDER BY contact
"""


@dataclass(frozen=True)
class ExportResult:
    """The files written and their data rows, both keyed by file name ('subscription_state.csv')."""

    files: dict[str, Path]
    rows: dict[str, int]


def export_state(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    formats: tuple[str, ...] = ("parquet", "csv"),
    state_formats: tuple[str, ...] | None = None,
    sort_state: bool = True,
) -> ExportResult:
    """Write the state and the Engage SQL Traits files in each of `formats` into `out_dir`
    (the full state in `state_formats` instead, when given; in no particular row order when
    `sort_state` is false)."""
    state_formats = formats if state_formats is None else state_formats
    unknown = sorted((set(formats) | set(state_formats)) - set(_COPY_OPTIONS))
    if unknown or not formats or not state_formats:
        raise ValueError(f"unsupported export formats {unknown or formats}; use parquet and/or csv")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state_query = _STATE_QUERY + _STATE_ORDER if sort_state else _STATE_QUERY
    queries = {STATE_DATASET: (state_query, [])}
    queries.update({name: _engage_query(name) for name in ENGAGE_DATASETS})

    files: dict[str, Path] = {}
    rows: dict[str, int] = {}
    for dataset, (query, params) in queries.items():
        written: Path | None = None
        wanted = state_formats if dataset == STATE_DATASET else formats
        for fmt in sorted(set(wanted), key=list(_COPY_OPTIONS).index):  # parquet first
            target = out_dir / f"{dataset}.{fmt}"
            if written is None:
                rows[target.name] = _copy_atomically(con, query, params, target, fmt)
                written = target
            else:
                rows[target.name] = _copy_in_order(con, written, target, fmt)
            files[target.name] = target
    return ExportResult(files=files, rows=rows)


def _copy_in_order(con: duckdb.DuckDBPyConnection, source: Path, target: Path, fmt: str) -> int:
    """Another format of an export already written, row for row in the same order."""
    # The warehouse connection turns insertion order off for speed; this copy needs it.
    [(preserve,)] = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()
    con.execute("SET preserve_insertion_order = true")
    try:
        return _copy_atomically(con, "SELECT * FROM read_parquet(?)", [str(source)], target, fmt)
    finally:
        con.execute("SET preserve_insertion_order = ?", [preserve])


def _engage_query(dataset: str) -> tuple[str, list]:
    channel, contact_column, status_column = ENGAGE_DATASETS[dataset]
    # Column names and the number of WHEN branches are code; every value is a parameter.
    cases = " ".join("WHEN ? THEN ?" for _ in ENGAGE_STATUS)
    query = _ENGAGE_QUERY.format(
        contact_column=contact_column, status_column=status_column, cases=cases
    )
    params: list = [value for pair in ENGAGE_STATUS.items() for value in pair]
    params += [channel, list(ENGAGE_STATUS)]
    return query, params


def _copy_atomically(
    con: duckdb.DuckDBPyConnection, query: str, params: list, target: Path, fmt: str
) -> int:
    """COPY the query to a temporary sibling of `target`, then rename it over `target`."""
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        # DuckDB 2 takes the output path as a parameter, so no path is ever quoted into SQL.
        # fetchall, not fetchone: DuckDB 2 keeps a partly fetched result open on the connection.
        [(written,)] = con.execute(
            f"COPY ({query}) TO ? {_COPY_OPTIONS[fmt]}", [*params, str(temporary)]
        ).fetchall()
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return int(written)
