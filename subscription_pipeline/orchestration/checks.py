"""Asset checks: the quality rules of `subscription_pipeline.quality`, as Dagster sees them.

Blocking where a failure would publish wrong consent data (a duplicate state key, a status
outside the vocabulary, an input row unaccounted for, a malformed state table): the exports and
the report downstream then do not run. A warning where it would not (history, rejections).
"""

from collections.abc import Callable

import dagster as dg
import duckdb

from subscription_pipeline.orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from subscription_pipeline.quality import (
    CheckResult,
    check_accounting,
    check_state_key_unique,
    check_vocabulary,
    validate_table,
)
from subscription_pipeline.quality.result import failures_table


def to_dagster(result: CheckResult, severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    metadata: dict[str, dg.MetadataValue] = {
        "summary": dg.MetadataValue.md(result.summary),
        "rows_checked": dg.MetadataValue.int(result.rows_checked),
        "failure_cases": dg.MetadataValue.int(result.failures.height),
    }
    if not result.passed:
        metadata["failures"] = dg.MetadataValue.md(failures_table(result.failures, limit=50))
    return dg.AssetCheckResult(passed=result.passed, severity=severity, metadata=metadata)


def _check(
    name: str,
    asset: str,
    rule: Callable[[duckdb.DuckDBPyConnection], CheckResult],
    *,
    blocking: bool,
    description: str,
) -> dg.AssetChecksDefinition:
    severity = dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN

    @dg.asset_check(
        name=name, asset=asset, blocking=blocking, pool=WAREHOUSE_POOL, description=description
    )
    def _run(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connection() as con:
            return to_dagster(rule(con), severity)

    return _run


quality_checks = [
    _check(
        "state_key_unique",
        "subscription_state",
        check_state_key_unique,
        blocking=True,
        description="One row per (channel, contact, subscription_group), NULL group included.",
    ),
    _check(
        "statuses_in_vocabulary",
        "subscription_state",
        check_vocabulary,
        blocking=True,
        description="No status, channel, outcome or reason outside the product's vocabulary.",
    ),
    _check(
        "inputs_accounted_for",
        "subscription_state",
        check_accounting,
        blocking=True,
        description="Every file: rows in = applied + ignored + duplicate + rejected.",
    ),
    _check(
        "state_schema",
        "subscription_state",
        lambda con: validate_table(con, "subscription_state"),
        blocking=True,
        description="pandera model of subscription_state (types, nullability, row rules).",
    ),
    _check(
        "history_schema",
        "subscription_history",
        lambda con: validate_table(con, "subscription_history"),
        blocking=False,
        description="pandera model of subscription_history.",
    ),
    _check(
        "rejections_schema",
        "subscription_history",
        lambda con: validate_table(con, "rejections"),
        blocking=False,
        description="pandera model of the rejections table.",
    ),
    _check(
        "ledger_schema",
        "subscription_history",
        lambda con: validate_table(con, "input_ledger"),
        blocking=False,
        description="pandera model of the input ledger.",
    ),
]
