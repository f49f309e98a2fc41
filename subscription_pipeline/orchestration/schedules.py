"""The nightly reconciliation at 02:00 UTC: yesterday's received day and today's so far, for the
event logs and for the API inbox (uploads have their sensor). The state follows each ingestion
by its automation condition."""

from datetime import timedelta

import dagster as dg

from subscription_pipeline.orchestration.jobs import ingest_inbox_job, ingest_logs_job

NIGHTLY_CRON = "0 2 * * *"


def nightly_days(context: dg.ScheduleEvaluationContext) -> list[str]:
    tick = context.scheduled_execution_time
    return [(tick - timedelta(days=1)).strftime("%Y-%m-%d"), tick.strftime("%Y-%m-%d")]


def _nightly(job, name: str, what: str) -> dg.ScheduleDefinition:  # job: an asset job
    @dg.schedule(
        name=name,
        job=job,
        cron_schedule=NIGHTLY_CRON,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Ingest the previous and the current day of {what}.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        tick = context.scheduled_execution_time.date()
        return [
            dg.RunRequest(run_key=f"{name}:{day}:{tick}", partition_key=day)
            for day in nightly_days(context)
        ]

    return _schedule


nightly_reconcile = _nightly(
    ingest_logs_job, "nightly_reconcile", "the event logs (late files included)"
)
nightly_api_inbox = _nightly(ingest_inbox_job, "nightly_api_inbox", "the API inbox")
