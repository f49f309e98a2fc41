"""Partitions: one per CSV upload (added by a sensor), one per received day of event logs, one
per day of accepted API requests."""

from __future__ import annotations

import dagster as dg

from subscription_pipeline.ingest.log_layout import FIRST_LOG_DAY

UPLOAD_PARTITIONS_NAME = "csv_uploads"
# Segment's S3 destination dates from well after this; an older day folder is refused on the
# record (DAY_OUT_OF_RANGE, log_layout.judge_day_folder), never a failing partition key.
LOG_DAYS_START = FIRST_LOG_DAY

upload_partitions = dg.DynamicPartitionsDefinition(name=UPLOAD_PARTITIONS_NAME)
# end_offset=1: today's received day exists (partially) and can be ingested, then again tomorrow.
log_day_partitions = dg.DailyPartitionsDefinition(start_date=LOG_DAYS_START, end_offset=1)
# The API inbox by day of acceptance (UTC); today's requests keep arriving, like today's logs.
inbox_day_partitions = dg.DailyPartitionsDefinition(start_date=LOG_DAYS_START, end_offset=1)
