"""The reconciliation report: state counts per run, what changed, rejections, a chart.

Pure functions over the warehouse, free of Dagster; the orchestration wires them in.
The chart (`report.chart.state_chart_png`) is imported by the report step alone: matplotlib
costs a second to import, and the resolution and the checks import this package.
"""

from subscription_pipeline.reconciliation_report.markdown import markdown_table, report_markdown
from subscription_pipeline.reconciliation_report.rejections import rejections_by_code
from subscription_pipeline.reconciliation_report.snapshots import (
    changes_since_previous,
    record_snapshot,
    state_counts,
)
from subscription_pipeline.reconciliation_report.tables import ensure_report_tables
from subscription_pipeline.reconciliation_report.transitions import (
    CaptureMissingError,
    capture_before,
    capture_pending,
    record_transitions,
    transition_counts,
)

__all__ = [
    "CaptureMissingError",
    "capture_before",
    "capture_pending",
    "changes_since_previous",
    "ensure_report_tables",
    "markdown_table",
    "record_snapshot",
    "record_transitions",
    "rejections_by_code",
    "report_markdown",
    "state_counts",
    "transition_counts",
]
