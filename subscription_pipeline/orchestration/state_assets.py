"""State assets: the resolution of every changed contact vector, its history and error reports."""

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import duckdb

from subscription_pipeline.api.snapshot import publish_snapshot
from subscription_pipeline.orchestration.ingest_assets import api_inbox, csv_uploads, event_logs
from subscription_pipeline.orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from subscription_pipeline.report import capture_before, record_snapshot, record_transitions
from subscription_pipeline.resolve.engine import resolve_pending
from subscription_pipeline.upload_reports.error_report import refresh_error_reports

PREVIEW_ROWS = 20

# Unattended: once any ingestion partition lands (sensor run, nightly schedule, backfill), resolve.
# Not `eager()`: that waits for *every* upstream partition, and most days have no logs.
AFTER_UPSTREAM = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("after upstream lands")


def table_preview(con: duckdb.DuckDBPyConnection, sql: str) -> dg.MetadataValue:
    """A markdown preview of a query's first rows (the SQL is fixed code, never input)."""
    # LIMIT in DuckDB: fetching the whole result to keep 20 rows cost ~1 GiB at 2.4M rows.
    frame = con.sql(sql).limit(PREVIEW_ROWS).pl()
    if frame.is_empty():
        return dg.MetadataValue.md("_no rows_")
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = [
        "| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in frame.rows()
    ]
    return dg.MetadataValue.md("\n".join([header, rule, *rows]))


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    # `table` is one of this module's constants. fetchall: DuckDB 2 keeps a fetchone() result open.
    [(count,)] = con.execute(f"SELECT count(*) FROM {table}").fetchall()
    return count


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "subscription_state",
            deps=[csv_uploads, event_logs, api_inbox],
            description="One row per (channel, contact, subscription_group): the current consent.",
            kinds={"duckdb"},
            group_name="state",
            automation_condition=AFTER_UPSTREAM,
        ),
        dg.AssetSpec(
            "subscription_history",
            deps=[csv_uploads, event_logs, api_inbox],
            description="Every status-bearing observation in replay order, its outcome and reason.",
            kinds={"duckdb"},
            group_name="state",
            automation_condition=AFTER_UPSTREAM,
        ),
    ],
    pool=WAREHOUSE_POOL,
)
def resolved_subscriptions(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult]:
    run_at = datetime.now(UTC).replace(tzinfo=None)
    with warehouse.connection() as con:
        # The state of the vectors about to change, so the report can name exact transitions.
        capture_before(con)
        summary = resolve_pending(con)
        transitions = record_transitions(con, run_at)
        record_snapshot(con, run_at)
        # What the API service answers from until the next resolution (it never opens DuckDB).
        publish_snapshot(con, warehouse.data_path())
        context.log.info(f"resolved {summary.vectors_resolved} contact vectors")
        yield dg.MaterializeResult(
            asset_key="subscription_state",
            metadata={
                "dagster/row_count": dg.MetadataValue.int(row_count(con, "subscription_state")),
                "vectors_resolved": dg.MetadataValue.int(summary.vectors_resolved),
                "state_changes": dg.MetadataValue.int(transitions),
                "by_channel_and_status": table_preview(
                    con,
                    "SELECT channel, coalesce(status, '(none)') AS status, count(*) AS contacts "
                    "FROM subscription_state WHERE subscription_group IS NULL "
                    "GROUP BY ALL ORDER BY ALL",
                ),
                "preview": table_preview(
                    con, "SELECT * FROM subscription_state ORDER BY status_at DESC NULLS LAST"
                ),
            },
        )
        yield dg.MaterializeResult(
            asset_key="subscription_history",
            metadata={
                "dagster/row_count": dg.MetadataValue.int(row_count(con, "subscription_history")),
                "by_outcome": table_preview(
                    con,
                    "SELECT outcome, coalesce(reason, '') AS reason, count(*) AS steps "
                    "FROM subscription_history GROUP BY ALL ORDER BY ALL",
                ),
            },
        )


@dg.asset(
    deps=["subscription_history"],
    pool=WAREHOUSE_POOL,
    group_name="state",
    kinds={"csv"},
    automation_condition=AFTER_UPSTREAM,
    description="Per upload, an Engage-format error CSV (rejected rows and blocked outcomes).",
)
def upload_error_reports(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    reports_dir = warehouse.reports_path()
    with warehouse.connection() as con:
        uploads = [
            name
            for (name,) in con.execute(
                "SELECT partition_key FROM input_ledger WHERE source_kind = 'csv' ORDER BY 1"
            ).fetchall()
        ]
        paths, rewritten = refresh_error_reports(con, warehouse.data_path(), uploads, reports_dir)
    reports = [path.name for path in paths]
    context.log.info(f"{len(reports)} error reports in {reports_dir}, {rewritten} rewritten")
    return dg.MaterializeResult(
        metadata={
            "reports": dg.MetadataValue.int(len(reports)),
            "rewritten": dg.MetadataValue.int(rewritten),
            "files": dg.MetadataValue.md("\n".join(f"- {name}" for name in reports) or "_none_"),
        }
    )
