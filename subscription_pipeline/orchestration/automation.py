"""Declarative automation: what follows an ingestion, and the sensor that evaluates it (on by
default, so a deployment run by the daemon alone completes the night)."""

import dagster as dg

# Once any ingestion partition lands (sensor run, schedule, UI backfill), resolve and publish.
# Not `eager()`: that waits for *every* upstream partition, and most days have no logs.
# The first evaluation also counts as a trigger (`since_last_handled()` would treat it as
# handled): ingestions that landed before the sensor's first tick, a UI backfill launched
# before the daemon started say, are then resolved rather than ignored. A resolution with
# nothing new to fold in costs a second.
AFTER_UPSTREAM = (
    (dg.AutomationCondition.any_deps_updated() | dg.AutomationCondition.initial_evaluation()).since(
        dg.AutomationCondition.newly_requested() | dg.AutomationCondition.newly_updated()
    )
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("after upstream lands")

# The API inbox may stay empty for days, and the UI asks, in red, before materialising the state
# whether to go on without an upstream that was never materialised. The automation's first
# tick therefore ingests today's inbox day once (usually empty) when it is missing.
INBOX_OPENS = (
    dg.AutomationCondition.initial_evaluation()
    & dg.AutomationCondition.in_latest_time_window()
    & dg.AutomationCondition.missing()
).with_label("today's inbox day, on the first tick")

# Checks run whenever their asset is requested or updated, in the same run: a blocking check
# that fails then stops what is downstream of its asset in that run.
WITH_ITS_ASSET = dg.AutomationCondition.eager().with_label("with its asset")

automation_sensor = dg.AutomationConditionSensorDefinition(
    # The name Dagster would give its own sensor, which would be off on a fresh instance.
    "default_automation_condition_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Resolves, checks and publishes after each ingestion (on by default).",
)
