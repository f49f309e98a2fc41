"""Bringing a warehouse written by an older release to the current tables (docs/warehouse.md).

Runs at every connection for writing, between schema.sql (the tables) and views.sql, inside
the same transaction; each step checks the catalogue first, so a current warehouse costs two
lookups. Older warehouses kept each observation's evidence JSON on the observation and on every
history row; now it is stored once per input record (`record_evidence`), and
`subscription_history` is a view that joins it to the steps (`history_steps`).
"""

from __future__ import annotations

import duckdb

# Evidence per record: the observations of one record (a CSV row, a log line, an inbox entry)
# all carried the same JSON, so any one of them gives it.
_EVIDENCE_PER_RECORD = """
INSERT INTO record_evidence
SELECT CASE source_kind WHEN 'csv' THEN 'csv' WHEN 'api' THEN 'api' ELSE 'event_log' END,
       partition_key, source_file, row_number, any_value(evidence)
FROM observations
WHERE evidence IS NOT NULL AND row_number IS NOT NULL
GROUP BY ALL
"""


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Move an older warehouse's evidence to `record_evidence` and its history to
    `history_steps`; nothing to do on a current one."""
    if _has_column(con, "observations", "evidence"):
        con.execute(_EVIDENCE_PER_RECORD)
        con.execute("ALTER TABLE observations DROP COLUMN evidence")
    if _is_base_table(con, "subscription_history"):
        # By name, every column but the evidence (a warehouse older still has none).
        con.execute(
            "INSERT INTO history_steps BY NAME "
            "SELECT COLUMNS(lambda c: c <> 'evidence') FROM subscription_history"
        )
        con.execute("DROP TABLE subscription_history")


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    [(found,)] = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ? AND column_name = ?",
        [table, column],
    ).fetchall()
    return found > 0


def _is_base_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    [(found,)] = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ? AND NOT temporary",
        [name],
    ).fetchall()
    return found > 0
