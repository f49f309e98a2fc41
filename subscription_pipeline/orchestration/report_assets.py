"""What a person reads without a notebook: the reconciliation report, error reports, exports."""

import base64

import dagster as dg

from subscription_pipeline.error_reports.error_report import refresh_error_reports
from subscription_pipeline.export import export_state
from subscription_pipeline.orchestration.automation import AFTER_UPSTREAM
from subscription_pipeline.orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from subscription_pipeline.orchestration.snapshot_release import release_snapshot
from subscription_pipeline.orchestration.tags import DATA_TEAM, asset_tags
from subscription_pipeline.reconciliation_report import report_markdown, state_counts
from subscription_pipeline.warehouse.publish import publish


@dg.asset(
    deps=["subscription_state", "subscription_history"],
    pool=WAREHOUSE_POOL,
    group_name="reporting",
    kinds={"markdown"},
    automation_condition=AFTER_UPSTREAM,
    owners=[DATA_TEAM],
    tags=asset_tags("reporting", pii=False),
    description="Counts by channel and status, changes since the previous run, rejections, "
    "and a chart of state counts over time.",
)
def reconciliation_report(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    from subscription_pipeline.reconciliation_report.chart import (
        state_chart_png,  # matplotlib: this step only
    )

    chart_path = warehouse.reports_path() / "state_counts.png"
    with warehouse.connection() as con:
        markdown = report_markdown(con)
        counts = state_counts(con)
        state_chart_png(con, chart_path)
    (warehouse.reports_path() / "reconciliation_report.md").write_text(markdown)
    # The UI renders markdown images from data URIs: the chart shows with no file server.
    chart = base64.b64encode(chart_path.read_bytes()).decode()
    context.log.info(f"report written to {warehouse.reports_path()}")
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.md(markdown),
            "chart": dg.MetadataValue.md(
                f"![state counts over time](data:image/png;base64,{chart})"
            ),
            "chart_path": dg.MetadataValue.path(str(chart_path)),
            "state_counts": dg.MetadataValue.table(
                records=[dg.TableRecord(row) for row in counts.to_dicts()],
                schema=dg.TableSchema(
                    columns=[
                        dg.TableColumn(name, str(dtype)) for name, dtype in counts.schema.items()
                    ]
                ),
            ),
        }
    )


@dg.asset(
    deps=["subscription_state"],
    pool=WAREHOUSE_POOL,
    group_name="reporting",
    kinds={"parquet", "csv"},
    automation_condition=AFTER_UPSTREAM,
    owners=[DATA_TEAM],
    tags=asset_tags("reporting", pii=True),
    description="The state as Parquet, and Engage's 'Subscriptions with SQL Traits' files as CSV "
    "and Parquet. Runs only after the blocking checks of subscription_state pass.",
)
def state_exports(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    exports = warehouse.data_path() / "exports"
    with warehouse.connection() as con:
        # The full state as CSV (568 MB at 5M events, ~3 s a night) only on demand:
        # `subscription-pipeline export`. A copy left by such a run would now be stale.
        # Parquet readers query rather than scroll, so the nightly file skips the sort.
        result = export_state(con, exports, state_formats=("parquet",), sort_state=False)
    (exports / "subscription_state.csv").unlink(missing_ok=True)
    return dg.MaterializeResult(
        metadata={
            **{f"rows/{name}": dg.MetadataValue.int(rows) for name, rows in result.rows.items()},
            "files": dg.MetadataValue.md("\n".join(f"- `{p}`" for p in result.files.values())),
        }
    )


@dg.asset(
    deps=["subscription_state"],
    group_name="reporting",
    kinds={"parquet", "duckdb"},
    automation_condition=AFTER_UPSTREAM,
    owners=[DATA_TEAM],
    tags=asset_tags("serving", pii=True),
    pool=WAREHOUSE_POOL,
    description="What readers see, published only after the blocking checks of "
    "subscription_state pass: the state snapshot the API service answers from (data/snapshot/) "
    "and the analysts' warehouse file (a copy of the engine file, swapped in whole).",
)
def api_snapshot(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    published = release_snapshot(warehouse.data_path())
    if published is None:
        context.log.info("no new snapshot staged since the last release; the service's is kept")
    with warehouse.connection() as con:
        analysts = publish(con, warehouse.warehouse_path())
    return dg.MaterializeResult(
        metadata={
            "published": dg.MetadataValue.bool(published is not None),
            "warehouse_publish_seconds": dg.MetadataValue.float(round(analysts.seconds, 2)),
        }
        | ({"path": dg.MetadataValue.path(str(published))} if published else {})
    )


@dg.asset(
    deps=["subscription_history"],
    pool=WAREHOUSE_POOL,
    group_name="reporting",
    kinds={"csv"},
    automation_condition=AFTER_UPSTREAM,
    owners=[DATA_TEAM],
    tags=asset_tags("reporting", pii=True),
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
