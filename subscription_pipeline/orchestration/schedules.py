"""The nightly reconciliation at 02:00 UTC, in one run: yesterday's received day and today's so
far, of the event logs (late files included) and of the API inbox, then everything downstream.

It completes the night on its own, whatever the automation sensor does; re-ingesting a day is
idempotent. Uploads have their sensor, and the automation resolves after each of them.
"""

from datetime import timedelta

import dagster as dg

from subscription_pipeline.orchestration.jobs import nightly_job

NIGHTLY_CRON = "0 2 * * *"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def nightly_days(context: dg.ScheduleEvaluationContext) -> list[str]:
    tick = context.scheduled_execution_time
    return [(tick - timedelta(days=1)).strftime("%Y-%m-%d"), tick.strftime("%Y-%m-%d")]


@dg.schedule(
    job=nightly_job,
    cron_schedule=NIGHTLY_CRON,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Ingest the previous and the current day of the event logs and the API inbox, "
    "then resolve, check, report, export and publish, in one run.",
)
def nightly_reconcile(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    first, last = nightly_days(context)
    # One run over both days (the assets' single-run backfill policy), so the state is
    # resolved once, after both.
    return dg.RunRequest(
        run_key=f"nightly:{context.scheduled_execution_time.date()}",
        tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
    )
