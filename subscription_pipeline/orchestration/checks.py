"""Asset checks: the quality rules of `subscription_pipeline.quality`, as Dagster sees them.

Blocking where a failure would publish wrong consent data (a duplicate state key, a status
outside the vocabulary, an input row unaccounted for, a malformed state table): the exports and
the report downstream then do not run. A warning where it would not (history, rejections).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg
import duckdb

from subscription_pipeline.orchestration.automation import WITH_ITS_ASSET
from subscription_pipeline.orchestration.previews import mask_contacts
from subscription_pipeline.orchestration.resources import WAREHOUSE_POOL, WarehouseResource

if TYPE_CHECKING:
    from subscription_pipeline.quality.result import CheckResult

# The quality package is imported when a check runs: its pandera models (and pandas under
# them) cost half a second, which loading the definitions for a run without checks never pays.
Rule = Callable[[duckdb.DuckDBPyConnection], "CheckResult"]


def to_dagster(
    result: "CheckResult", severity: dg.AssetCheckSeverity, key: dg.AssetCheckKey
) -> dg.AssetCheckResult:
    # The summary's first paragraph only: its failure table would name contacts; the table
    # below is the same with contacts masked (the check's metadata lives in the event log).
    from subscription_pipeline.quality.result import failures_table

    metadata: dict[str, dg.MetadataValue] = {
        "summary": dg.MetadataValue.md(result.summary.split("\n\n")[0]),
        "rows_checked": dg.MetadataValue.int(result.rows_checked),
        "failure_cases": dg.MetadataValue.int(result.failures.height),
    }
    if not result.passed:
        metadata["failures"] = dg.MetadataValue.md(
            failures_table(mask_contacts(result.failures), limit=50)
        )
    return dg.AssetCheckResult(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=result.passed,
        severity=severity,
        metadata=metadata,
    )


@dataclass(frozen=True)
class QualityCheck:
    name: str
    asset: str
    rule: Rule
    blocking: bool
    description: str

    @property
    def key(self) -> dg.AssetCheckKey:
        return dg.AssetCheckKey(dg.AssetKey(self.asset), self.name)

    @property
    def severity(self) -> dg.AssetCheckSeverity:
        return dg.AssetCheckSeverity.ERROR if self.blocking else dg.AssetCheckSeverity.WARN


def _rule(name: str, *args: str) -> Rule:
    """The rule `name` of `subscription_pipeline.quality` (called with the connection, then
    `args`), imported when the check runs."""

    def run(con: duckdb.DuckDBPyConnection) -> "CheckResult":
        from subscription_pipeline import quality

        return getattr(quality, name)(con, *args)

    return run


def _schema_of(table: str) -> Rule:
    return _rule("validate_table", table)


QUALITY_CHECKS = (
    QualityCheck(
        "state_key_unique",
        "subscription_state",
        _rule("check_state_key_unique"),
        blocking=True,
        description="One row per (channel, contact, subscription_group), NULL group included.",
    ),
    QualityCheck(
        "statuses_in_vocabulary",
        "subscription_state",
        _rule("check_vocabulary"),
        blocking=True,
        description="No status, channel, outcome or reason outside the product's vocabulary.",
    ),
    QualityCheck(
        "inputs_accounted_for",
        "subscription_state",
        _rule("check_accounting"),
        blocking=True,
        description="Every file: rows in = applied + ignored + duplicate + rejected + suppressed.",
    ),
    QualityCheck(
        "state_schema",
        "subscription_state",
        _schema_of("subscription_state"),
        blocking=True,
        description="pandera model of subscription_state (types, nullability, row rules).",
    ),
    QualityCheck(
        "history_schema",
        "subscription_history",
        _schema_of("subscription_history"),
        blocking=False,
        description="pandera model of subscription_history.",
    ),
    QualityCheck(
        "rejections_schema",
        "subscription_history",
        _schema_of("rejections"),
        blocking=False,
        description="pandera model of the rejections table.",
    ),
    QualityCheck(
        "ledger_schema",
        "subscription_history",
        _schema_of("input_ledger"),
        blocking=False,
        description="pandera model of the input ledger.",
    ),
)


def _checks_of(asset: str) -> dg.AssetChecksDefinition:
    """One step and one warehouse connection for all the checks of an asset (seven steps cost
    ~3 s more per run); the UI still shows, and can run, each check alone. Grouped by asset so
    a failing blocking check of the state never holds back what depends on the history only."""
    checks = [check for check in QUALITY_CHECKS if check.asset == asset]

    @dg.multi_asset_check(
        name=f"{asset}_checks",
        specs=[
            dg.AssetCheckSpec(
                c.name,
                asset=c.asset,
                blocking=c.blocking,
                description=c.description,
                automation_condition=WITH_ITS_ASSET,
            )
            for c in checks
        ],
        can_subset=True,
        pool=WAREHOUSE_POOL,
    )
    def _run(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        selected = context.selected_asset_check_keys
        with warehouse.connection() as con:
            for check in checks:
                if check.key in selected:
                    yield to_dagster(check.rule(con), check.severity, check.key)

    return _run


quality_checks = [_checks_of("subscription_state"), _checks_of("subscription_history")]
