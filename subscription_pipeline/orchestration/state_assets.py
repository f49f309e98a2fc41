"""State assets: the resolution of every changed contact vector and its history."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb

from subscription_pipeline.orchestration.automation import AFTER_UPSTREAM
from subscription_pipeline.orchestration.ingest_assets import api_inbox, csv_uploads, event_logs
from subscription_pipeline.orchestration.previews import (
    STATE_COUNTS_SQL,
    STATE_PREVIEW_SQL,
    STATE_SCHEMA,
    table_preview,
)
from subscription_pipeline.orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from subscription_pipeline.orchestration.snapshot_release import stage_snapshot
from subscription_pipeline.orchestration.tags import DATA_TEAM, asset_tags
from subscription_pipeline.reconciliation_report import (
    capture_before,
    capture_pending,
    record_snapshot,
    record_transitions,
)
from subscription_pipeline.resolve.engine import resolve_pending


def counts_table(con: duckdb.DuckDBPyConnection) -> dg.MetadataValue:
    """Rows by channel, email group and status (no contact in it), as a table the UI sorts."""
    frame = con.sql(STATE_COUNTS_SQL).pl()
    return dg.MetadataValue.table(
        records=[dg.TableRecord(row) for row in frame.to_dicts()],
        schema=dg.TableSchema(
            columns=[
                dg.TableColumn("channel", "string"),
                dg.TableColumn("group", "string"),
                dg.TableColumn("status", "string"),
                dg.TableColumn("contacts", "int"),
                dg.TableColumn("locked", "int"),
            ]
        ),
    )


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
            owners=[DATA_TEAM],
            tags=asset_tags("state", pii=True),
            # A missed night shows: warned after 25 hours without a resolution, failed after 26
            # (the freshness daemon evaluates it, with or without runs).
            freshness_policy=dg.FreshnessPolicy.time_window(
                fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
            ),
            metadata={
                "dagster/column_schema": STATE_SCHEMA,
                "dagster/table_name": "subscription_state",
            },
        ),
        dg.AssetSpec(
            "subscription_history",
            deps=[csv_uploads, event_logs, api_inbox],
            description="Every status-bearing observation in replay order, its outcome and reason.",
            kinds={"duckdb"},
            group_name="state",
            automation_condition=AFTER_UPSTREAM,
            owners=[DATA_TEAM],
            tags=asset_tags("state", pii=True),
            metadata={"dagster/table_name": "subscription_history"},
        ),
    ],
    pool=WAREHOUSE_POOL,
)
def resolved_subscriptions(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult]:
    run_at = datetime.now(UTC).replace(tzinfo=None)
    with warehouse.connection() as con:
        # The state of the vectors about to change, so the report can name exact transitions
        # (already captured when the bucket steps of resolve_in_buckets wrote them).
        if not capture_pending(con):
            capture_before(con)
        # Also writes the buckets an interrupted or partly failed run left, then what is dirty.
        summary = resolve_pending(
            con, after_bucket=lambda bucket: context.log.info(f"bucket {bucket} written")
        )
        transitions = record_transitions(con, run_at)
        record_snapshot(con, run_at)
        # What the API service will answer from, once the blocking checks passed (api_snapshot).
        stage_snapshot(con, warehouse.data_path())
        context.log.info(f"resolved {summary.vectors_resolved} contact vectors")
        yield dg.MaterializeResult(
            asset_key="subscription_state",
            metadata={
                "dagster/row_count": dg.MetadataValue.int(row_count(con, "subscription_state")),
                "vectors_resolved": dg.MetadataValue.int(summary.vectors_resolved),
                "state_changes": dg.MetadataValue.int(transitions),
                "counts": counts_table(con),
                "preview": table_preview(con, STATE_PREVIEW_SQL),
            },
        )
        yield dg.MaterializeResult(
            asset_key="subscription_history",
            metadata={
                "dagster/row_count": dg.MetadataValue.int(row_count(con, "history_steps")),
                "by_outcome": table_preview(
                    con,
                    "SELECT outcome, coalesce(reason, '') AS reason, count(*) AS steps "
                    "FROM history_steps GROUP BY ALL ORDER BY ALL",
                ),
            },
        )
