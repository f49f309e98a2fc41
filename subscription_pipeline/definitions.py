"""Everything Dagster loads, assembled in one visible place."""

from __future__ import annotations

import dagster as dg

from subscription_pipeline.orchestration.automation import automation_sensor
from subscription_pipeline.orchestration.checks import quality_checks
from subscription_pipeline.orchestration.executors import pipeline_executor
from subscription_pipeline.orchestration.explain_job import explain_contact_job
from subscription_pipeline.orchestration.ingest_assets import api_inbox, csv_uploads, event_logs
from subscription_pipeline.orchestration.jobs import (
    ingest_inbox_job,
    ingest_logs_job,
    ingest_uploads_job,
    nightly_job,
    resolve_job,
)
from subscription_pipeline.orchestration.report_assets import (
    api_snapshot,
    reconciliation_report,
    state_exports,
    upload_error_reports,
)
from subscription_pipeline.orchestration.resolution_jobs import resolve_in_buckets
from subscription_pipeline.orchestration.resources import WarehouseResource
from subscription_pipeline.orchestration.schedules import nightly_reconcile
from subscription_pipeline.orchestration.sensors import upload_sensor
from subscription_pipeline.orchestration.staged_jobs import stage_inputs
from subscription_pipeline.orchestration.state_assets import resolved_subscriptions

defs = dg.Definitions(
    assets=[
        csv_uploads,
        event_logs,
        api_inbox,
        resolved_subscriptions,
        upload_error_reports,
        reconciliation_report,
        state_exports,
        api_snapshot,
    ],
    asset_checks=quality_checks,
    jobs=[
        ingest_uploads_job,
        ingest_logs_job,
        ingest_inbox_job,
        resolve_job,
        nightly_job,
        explain_contact_job,
        stage_inputs,
        resolve_in_buckets,
    ],
    # Every sensor and schedule is on by default: the daemon alone completes the night.
    sensors=[upload_sensor, automation_sensor],
    schedules=[nightly_reconcile],
    resources={"warehouse": WarehouseResource()},
    # Steps run in-process, in local processes or on Celery workers, chosen per run.
    executor=pipeline_executor,
)
