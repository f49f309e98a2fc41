"""The column order of the warehouse tables other code reads or writes by position.

schema.sql and views.sql are the definition; tests/test_warehouse_columns.py checks these lists
against them.
"""

from __future__ import annotations

OBSERVATION_COLUMNS = (
    "source_kind",
    "partition_key",
    "source_file",
    "row_number",
    "message_id",
    "source",
    "channel",
    "contact",
    "subscription_group",
    "status",
    "effective_at",
    "received_at",
    "user_id",
    "anonymous_id",
)
RECORD_EVIDENCE_COLUMNS = ("source_kind", "partition_key", "source_file", "row_number", "evidence")
STATE_COLUMNS = (
    "channel",
    "contact",
    "subscription_group",
    "status",
    "status_at",
    "source",
    "source_ref",
    "locked",
    "user_id",
    "first_seen_at",
    "last_seen_at",
)
# history_steps; the subscription_history view adds the record's evidence.
HISTORY_STEP_COLUMNS = (
    "channel",
    "contact",
    "subscription_group",
    "replay_step",
    "effective_at",
    "source_kind",
    "source",
    "source_ref",
    "source_file",
    "row_number",
    "message_id",
    "user_id",
    "observed_status",
    "outcome",
    "reason",
    "status_after",
    "locked_after",
)
HISTORY_COLUMNS = (*HISTORY_STEP_COLUMNS, "evidence")
