"""The plain-text summary `reconcile` prints: what came in, what it became, what was refused."""

from __future__ import annotations

from pathlib import Path

from subscription_pipeline.ingest.store import LEDGER_COUNTS
from subscription_pipeline.reconciliation_report.tables import table_exists
from subscription_pipeline.warehouse.connection import connect

COUNT_HEADERS = tuple(name.replace("_", " ") for name in LEDGER_COUNTS)


def _table(rows: list[tuple], headers: tuple[str, ...]) -> str:
    cells = [headers, *[tuple("" if v is None else str(v) for v in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def summarize(warehouse: Path) -> str:
    con = connect(warehouse, read_only=True)
    try:
        # Column names from a constant, never data.
        sums = ", ".join(f"sum({name})" for name in LEDGER_COUNTS)
        ledger = con.execute(
            f"""
            SELECT source_kind, count(*) AS files, count(*) FILTER (status = 'rejected'), {sums},
                   count(*) FILTER (
                       rows_in <> applied + ignored + duplicate + rejected + suppressed
                   )
            FROM input_ledger GROUP BY ALL ORDER BY ALL
            """
        ).fetchall()
        state = con.execute(
            """
            SELECT channel, coalesce(subscription_group, '(channel)'), coalesce(status, '(none)'),
                   count(*), count(*) FILTER (locked)
            FROM subscription_state GROUP BY ALL ORDER BY ALL
            """
        ).fetchall()
        rejected = con.execute(
            "SELECT error_code, count(*) FROM rejections GROUP BY ALL ORDER BY 2 DESC, 1"
        ).fetchall()
        # The steps without their evidence; a warehouse the previous release published (not
        # republished since the upgrade) still has them in its subscription_history table.
        steps = "history_steps" if table_exists(con, "history_steps") else "subscription_history"
        blocked = con.execute(
            f"SELECT outcome, reason, count(*) FROM {steps} "  # a table name chosen above
            "WHERE outcome <> 'applied' GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()
    parts = [
        "Inputs (rows in = applied + ignored + duplicate + rejected + suppressed):",
        _table(
            ledger,
            ("kind", "files", "files rejected", *COUNT_HEADERS, "unbalanced"),
        ),
        "",
        "Subscription state:",
        _table(state, ("channel", "group", "status", "contacts", "locked")),
        "",
        "Rejections by code:",
        _table(rejected, ("error_code", "rows")) if rejected else "  none",
        "",
        "Blocked and ignored steps:",
        _table(blocked, ("outcome", "reason", "steps")) if blocked else "  none",
    ]
    return "\n".join(parts)
