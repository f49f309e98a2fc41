"""Data quality of the warehouse tables: pandera models on a sample, whole-table rules in SQL.

Pure functions returning `CheckResult`s; the orchestration turns them into asset checks.
"""

from __future__ import annotations

import duckdb

from subscription_pipeline.quality.models import (
    MODELS,
    InputLedger,
    Rejections,
    SubscriptionHistory,
    SubscriptionState,
)
from subscription_pipeline.quality.result import CheckResult, quality_markdown
from subscription_pipeline.quality.sql_checks import (
    check_accounting,
    check_state_key_unique,
    check_vocabulary,
)
from subscription_pipeline.quality.validate import validate_table


def run_quality_checks(con: duckdb.DuckDBPyConnection) -> list[CheckResult]:
    """Every check: the schema of each modelled table, then the whole-table rules."""
    results = [validate_table(con, table) for table in MODELS]
    results += [check_state_key_unique(con), check_vocabulary(con), check_accounting(con)]
    return results


__all__ = [
    "MODELS",
    "CheckResult",
    "InputLedger",
    "Rejections",
    "SubscriptionHistory",
    "SubscriptionState",
    "check_accounting",
    "check_state_key_unique",
    "check_vocabulary",
    "quality_markdown",
    "run_quality_checks",
    "validate_table",
]
