"""A warehouse's tables as comparable values: two runs that must agree are compared this way."""

from __future__ import annotations

from pathlib import Path

from subscription_pipeline.warehouse.connection import connect

# Every output a reader sees; the ledger without its wall-clock ingestion time.
OUTPUTS = {
    "state": "SELECT * FROM subscription_state",
    "history": "SELECT * FROM subscription_history",
    "rejections": "SELECT * FROM rejections",
    "warnings": "SELECT * FROM ingest_warnings",
    "observations": "SELECT * FROM observations",
    "ledger": "SELECT * EXCLUDE (ingested_at) FROM input_ledger",
}


def read_tables(warehouse: Path, queries: dict[str, str] = OUTPUTS) -> dict[str, list[tuple]]:
    """Each query's rows, sorted (row order is not part of any contract)."""
    con = connect(warehouse, read_only=True)
    try:
        return {
            name: sorted(con.execute(sql).fetchall(), key=repr) for name, sql in queries.items()
        }
    finally:
        con.close()
