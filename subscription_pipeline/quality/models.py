"""pandera (polars) models of the output and bookkeeping tables.

Columns are not coerced: a wrong DuckDB type is a failure to see, not to hide. Extra columns
are allowed (the contracts say "at least"); missing ones fail.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.polars import PolarsData

from subscription_pipeline.errors import FileError, Reason, RecordError
from subscription_pipeline.vocabulary import CHANNELS, PHONE_CHANNELS, SOURCE_KINDS, STATUSES

# The resolution adds 'cascade' for group changes caused by a channel-level unsubscribe.
STATE_SOURCES = (*SOURCE_KINDS, "cascade")
OUTCOMES = ("applied", "ignored", "blocked")
# Plain strings: polars reads a tuple of StrEnum members as an Enum dtype, not as text.
REASONS = tuple(code.value for code in Reason)
FILE_ERRORS = tuple(code.value for code in FileError)
RECORD_ERRORS = tuple(code.value for code in RecordError)
LEDGER_SOURCE_KINDS = ("csv", "event_log", "api")
LEDGER_STATUSES = ("ingested", "rejected")
ERROR_CODES = (*FILE_ERRORS, *RECORD_ERRORS)


def _implies(condition: pl.Expr, consequence: pl.Expr) -> pl.Expr:
    """Row-wise `condition -> consequence`, a NULL condition counting as false."""
    return ~condition.fill_null(False) | consequence.fill_null(False)


class SubscriptionState(pa.DataFrameModel):
    channel: str = pa.Field(isin=CHANNELS)
    contact: str = pa.Field(str_length={"min_value": 1})
    subscription_group: str = pa.Field(nullable=True, str_length={"min_value": 1})
    status: str = pa.Field(nullable=True, isin=STATUSES)
    status_at: pl.Datetime = pa.Field(nullable=True)
    source: str = pa.Field(nullable=True, isin=STATE_SOURCES)
    source_ref: str = pa.Field(nullable=True)
    locked: bool
    user_id: str = pa.Field(nullable=True)
    first_seen_at: pl.Datetime
    last_seen_at: pl.Datetime

    class Config:
        name = "subscription_state"
        strict = False
        coerce = False

    @pa.dataframe_check
    def status_has_time_and_source(cls, data: PolarsData) -> pl.LazyFrame:
        """A status is always explained: when, by what kind of source, which record."""
        has_status = pl.col("status").is_not_null()
        explained = pl.all_horizontal(
            pl.col(c).is_not_null() for c in ("status_at", "source", "source_ref")
        )
        return data.lazyframe.select(_implies(has_status, explained))

    @pa.dataframe_check
    def groups_only_for_email(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            _implies(pl.col("subscription_group").is_not_null(), pl.col("channel") == "email")
        )

    @pa.dataframe_check
    def locked_means_stopped_phone(cls, data: PolarsData) -> pl.LazyFrame:
        """Only a keyword STOP locks, and it sets `unsubscribed` on a phone channel."""
        stopped = pl.col("channel").is_in(PHONE_CHANNELS) & (pl.col("status") == "unsubscribed")
        return data.lazyframe.select(_implies(pl.col("locked"), stopped))

    @pa.dataframe_check
    def seen_in_order(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("first_seen_at") <= pl.col("last_seen_at"))


class SubscriptionHistory(pa.DataFrameModel):
    channel: str = pa.Field(isin=CHANNELS)
    contact: str = pa.Field(str_length={"min_value": 1})
    subscription_group: str = pa.Field(nullable=True)
    replay_step: pl.Int64 = pa.Field(ge=1)
    effective_at: pl.Datetime
    source_kind: str = pa.Field(isin=STATE_SOURCES)
    source: str = pa.Field(nullable=True)
    source_ref: str = pa.Field(nullable=True)
    source_file: str = pa.Field(nullable=True)
    row_number: pl.Int64 = pa.Field(nullable=True, ge=1)
    message_id: str = pa.Field(nullable=True)
    user_id: str = pa.Field(nullable=True)
    observed_status: str = pa.Field(isin=STATUSES)
    outcome: str = pa.Field(isin=OUTCOMES)
    reason: str = pa.Field(nullable=True, isin=REASONS)
    status_after: str = pa.Field(nullable=True, isin=STATUSES)
    locked_after: bool

    class Config:
        name = "subscription_history"
        strict = False
        coerce = False

    @pa.dataframe_check
    def reason_iff_not_applied(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("outcome") == "applied") == pl.col("reason").is_null())

    @pa.dataframe_check
    def applied_sets_the_observed_status(cls, data: PolarsData) -> pl.LazyFrame:
        """An applied step leaves its row in the status it carried (SPEC 3)."""
        return data.lazyframe.select(
            _implies(
                pl.col("outcome") == "applied",
                pl.col("status_after") == pl.col("observed_status"),
            )
        )


class Rejections(pa.DataFrameModel):
    source_kind: str = pa.Field(isin=LEDGER_SOURCE_KINDS)
    partition_key: str
    source_file: str = pa.Field(str_length={"min_value": 1})
    row_number: pl.Int64 = pa.Field(nullable=True, ge=1)
    error_code: str = pa.Field(isin=ERROR_CODES)
    error_message: str = pa.Field(str_length={"min_value": 1})
    raw_record: str = pa.Field(nullable=True)

    class Config:
        name = "rejections"
        strict = False
        coerce = False

    @pa.dataframe_check
    def record_errors_name_their_row(cls, data: PolarsData) -> pl.LazyFrame:
        """A row, line or entry defect says where it is, so it can be fixed and re-sent."""
        is_record_error = pl.col("error_code").is_in(RECORD_ERRORS)
        return data.lazyframe.select(_implies(is_record_error, pl.col("row_number").is_not_null()))


class InputLedger(pa.DataFrameModel):
    source_file: str = pa.Field(unique=True, str_length={"min_value": 1})
    source_kind: str = pa.Field(isin=LEDGER_SOURCE_KINDS)
    partition_key: str
    status: str = pa.Field(isin=LEDGER_STATUSES)
    uploaded_at: pl.Datetime = pa.Field(nullable=True)
    content_sha256: str = pa.Field(nullable=True)
    size_bytes: pl.Int64 = pa.Field(nullable=True, ge=0)
    rows_in: pl.Int64 = pa.Field(ge=0)
    applied: pl.Int64 = pa.Field(ge=0)
    ignored: pl.Int64 = pa.Field(ge=0)
    duplicate: pl.Int64 = pa.Field(ge=0)
    rejected: pl.Int64 = pa.Field(ge=0)
    warnings: pl.Int64 = pa.Field(ge=0)
    suppressed: pl.Int64 = pa.Field(ge=0)
    error_code: str = pa.Field(nullable=True, isin=FILE_ERRORS)
    error_message: str = pa.Field(nullable=True)
    ingested_at: pl.Datetime

    class Config:
        name = "input_ledger"
        strict = False
        coerce = False

    @pa.dataframe_check
    def rows_accounted_for(cls, data: PolarsData) -> pl.LazyFrame:
        """rows_in = applied + ignored + duplicate + rejected + suppressed: nothing disappears
        silently."""
        parts = (
            pl.col("applied")
            + pl.col("ignored")
            + pl.col("duplicate")
            + pl.col("rejected")
            + pl.col("suppressed")
        )
        return data.lazyframe.select(pl.col("rows_in") == parts)

    @pa.dataframe_check
    def rejected_files_say_why(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("status") == "rejected") == pl.col("error_code").is_not_null()
        )

    @pa.dataframe_check
    def csv_uploads_have_a_time(cls, data: PolarsData) -> pl.LazyFrame:
        """Every later rebuild replays an upload at its recorded time (SPEC 2.1)."""
        is_ingested_csv = (pl.col("source_kind") == "csv") & (pl.col("status") == "ingested")
        return data.lazyframe.select(_implies(is_ingested_csv, pl.col("uploaded_at").is_not_null()))


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "subscription_state": SubscriptionState,
    "subscription_history": SubscriptionHistory,
    "rejections": Rejections,
    "input_ledger": InputLedger,
}
