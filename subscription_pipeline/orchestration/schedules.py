"""The nightly reconciliation at 02:00 UTC: yesterday's received day, and today's so far."""

from datetime import timedelta

import dagster as dg

from subscription_pipeline.orchestration.jobs import ingest_logs_job


@dg.schedule(
    job=ingest_logs_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Ingest the previous received day (late files included); the state follows by "
    "its automation condition once the ingestion lands.",
)
def nightly_reconcile(context: dg.ScheduleEvaluationContext):
    tick = context.scheduled_execution_time
    days = [(tick - timedelta(days=1)).strftime("%Y-%m-%d"), tick.strftime("%Y-%m-%d")]
    return [
        dg.RunRequest(run_key=f"nightly:{day}:{tick.date()}", partition_key=day) for day in days
    ]
