"""From an upload's rows to observations and rejections, judged per contact vector (SPEC 2.1).

A row has up to two parts, judged separately so that a bad phone never discards a valid email
opt-out of the same row:
- the email part: `email`, `email_subscription_status` and every group column;
- the phone part: `phone`, `sms_subscription_status` and `whatsapp_subscription_status`.

Rules, decided here:
- A row with neither an email nor a phone value is rejected whole as MISSING_IDENTIFIER.
- A part exists when its key or one of its statuses is non-blank. A part with statuses but a
  blank key is rejected (INVALID_EMAIL / INVALID_PHONE, "is empty"): its statuses would
  otherwise vanish silently.
- One bad value in a part rejects the whole part, a bad group value included: applying the
  rest of a row the user got partly wrong is less safe than asking for the row again.
- A part's errors make one rejection (the first code; the message lists them all).
- An accepted part registers its contact for each channel whose status column the file has
  (NULL status when blank), or for `email` / `sms` when the file has no such column; a group
  observation is emitted only for a non-blank group value.
"""

from __future__ import annotations

import duckdb
import polars as pl

from subscription_pipeline.errors import RecordError
from subscription_pipeline.ingest.csv_header import CsvLayout
from subscription_pipeline.ingest.csv_read import field_column
from subscription_pipeline.normalize import normalize_values
from subscription_pipeline.vocabulary import CSV_STATUS_SPELLINGS

# Per vector: the normalisation kind, its error code, and the channel a bare key registers for.
_VECTORS = {
    "email": ("email", RecordError.INVALID_EMAIL, "email"),
    "phone": ("phone", RecordError.INVALID_PHONE, "sms"),
}
_SPELLINGS = ", ".join(CSV_STATUS_SPELLINGS)
_FAILURE_SCHEMA = {
    "row_number": pl.Int64,
    "vector": pl.String,
    "error_code": pl.String,
    "error_message": pl.String,
}


def _present(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().fill_null("") != ""


def _trimmed_or_null(column: str) -> pl.Expr:
    value = pl.col(column).str.strip_chars()
    return pl.when(value != "").then(value)


def _optional(layout: CsvLayout, identifier: str) -> pl.Expr:
    if identifier not in layout.identifiers:
        return pl.lit(None, dtype=pl.String)
    return _trimmed_or_null(layout.identifiers[identifier])


def _has_identifier(layout: CsvLayout) -> pl.Expr:
    keys = [_present(layout.identifiers[v]) for v in _VECTORS if v in layout.identifiers]
    return pl.any_horizontal(keys)


def vector_keys(
    con: duckdb.DuckDBPyConnection, rows: pl.DataFrame, layout: CsvLayout, region: str
) -> pl.DataFrame:
    """One row per existing part of each identified row: raw key, contact (NULL if invalid)."""
    frames = []
    for vector, (kind, _, _) in _VECTORS.items():
        if vector not in layout.identifiers:
            continue
        key = layout.identifiers[vector]
        statuses = [_present(status.column) for status in layout.vector_statuses(vector)]
        has_status = pl.any_horizontal(statuses) if statuses else pl.lit(False)
        part = rows.filter(_has_identifier(layout) & (_present(key) | has_status)).select(
            "row_number", vector=pl.lit(vector), raw_key=pl.col(key)
        )
        wanted = part.filter(_present("raw_key")).get_column("raw_key").unique()
        normalized = normalize_values(con, kind, wanted.to_list(), region)
        part = part.join(normalized, left_on="raw_key", right_on="raw", how="left")
        empty = f"{vector} is empty but the row has {vector} statuses"
        frames.append(
            part.select(
                "row_number",
                "vector",
                "raw_key",
                key_error=pl.when(_present("raw_key"))
                .then(pl.col("error_message"))
                .otherwise(pl.lit(empty)),
                contact=pl.col("normalized"),
            )
        )
    return pl.concat(frames)


def status_cells(rows: pl.DataFrame, layout: CsvLayout) -> pl.DataFrame:
    """One row per (data row, status column), plus a bare registration for a vector whose
    channel has no status column; `status` is canonical or NULL (blank or invalid)."""
    frames = [
        rows.select(
            "row_number",
            vector=pl.lit(status.vector),
            column=pl.lit(status.name),
            channel=pl.lit(status.channel),
            subscription_group=pl.lit(status.group, dtype=pl.String),
            raw_status=pl.col(status.column),
        )
        for status in layout.statuses
    ]
    for vector, (_, _, channel) in _VECTORS.items():
        has_channel_column = any(s.group is None for s in layout.vector_statuses(vector))
        if vector in layout.identifiers and not has_channel_column:
            frames.append(
                rows.select(
                    "row_number",
                    vector=pl.lit(vector),
                    column=pl.lit(None, dtype=pl.String),
                    channel=pl.lit(channel),
                    subscription_group=pl.lit(None, dtype=pl.String),
                    raw_status=pl.lit(None, dtype=pl.String),
                )
            )
    cells = pl.concat(frames).with_columns(token=_trimmed_or_null("raw_status").str.to_lowercase())
    return cells.with_columns(
        status=pl.col("token").replace_strict(CSV_STATUS_SPELLINGS, default=None)
    )


def _failures(
    rows: pl.DataFrame, keys: pl.DataFrame, cells: pl.DataFrame, layout: CsvLayout
) -> pl.DataFrame:
    """Every failure as (row_number, vector, error_code, error_message, rank)."""
    # Here, not at the top: pandera (and pandas under it) cost a second to import, and only
    # the validation of an upload's rows needs them.
    from subscription_pipeline.ingest.csv_models import (
        RowIdentifierModel,
        StatusCellModel,
        VectorKeyModel,
        failing_rows,
    )

    identified = rows.select("row_number", has_identifier=_has_identifier(layout))
    missing = failing_rows(RowIdentifierModel, identified, "has_identifier").select(
        "row_number",
        vector=pl.lit(None, dtype=pl.String),
        error_code=pl.lit(RecordError.MISSING_IDENTIFIER.value),
        error_message=pl.lit("the row has neither an email nor a phone value"),
    )
    codes = {vector: code.value for vector, (_, code, _) in _VECTORS.items()}
    names = {vector: layout.identifier_names.get(vector, vector) for vector in _VECTORS}
    bad_keys = failing_rows(VectorKeyModel, keys, "contact").select(
        "row_number",
        "vector",
        error_code=pl.col("vector").replace_strict(codes),
        error_message=pl.format(
            "column '{}': {}{}",
            pl.col("vector").replace_strict(names),
            pl.when(_present("raw_key")).then(pl.format("'{}': ", "raw_key")).otherwise(pl.lit("")),
            "key_error",
        ),
    )
    judged = cells.filter(pl.col("token").is_not_null()).join(
        keys.select("row_number", "vector"), on=["row_number", "vector"], how="semi"
    )
    bad_statuses = failing_rows(
        StatusCellModel, judged.select(list(StatusCellModel.to_schema().columns)), "token"
    ).select(
        "row_number",
        "vector",
        error_code=pl.lit(RecordError.INVALID_SUBSCRIPTION_STATUS.value),
        error_message=pl.format(
            "column '{}': '{}' is not a subscription status ({})",
            "column",
            "raw_status",
            pl.lit(_SPELLINGS),
        ),
    )
    return pl.concat(
        [
            frame.with_columns(rank=pl.lit(rank)).cast(_FAILURE_SCHEMA | {"rank": pl.Int32})
            for rank, frame in enumerate((missing, bad_keys, bad_statuses))
        ]
    )


def judge_rows(
    con: duckdb.DuckDBPyConnection, rows: pl.DataFrame, layout: CsvLayout, region: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(observations, rejected vectors) of an upload's rows.

    observations: row_number, channel, contact, subscription_group, status, user_id,
    anonymous_id. rejected: row_number, vector (NULL for the whole row), error_code,
    error_message, raw_record (the row as JSON of header -> value).
    """
    keys = vector_keys(con, rows, layout, region)
    cells = status_cells(rows, layout)
    rejected = (
        _failures(rows, keys, cells, layout)
        .sort("row_number", "vector", "rank", nulls_last=False, maintain_order=True)
        .group_by("row_number", "vector", maintain_order=True)
        .agg(pl.col("error_code").first(), pl.col("error_message").str.join("; "))
    )
    accepted = keys.join(rejected, on=["row_number", "vector"], how="anti")
    observations = (
        cells.filter(pl.col("subscription_group").is_null() | pl.col("status").is_not_null())
        .join(accepted.select("row_number", "vector", "contact"), on=["row_number", "vector"])
        .join(
            rows.select(
                "row_number",
                user_id=_optional(layout, "user_id"),
                anonymous_id=_optional(layout, "anonymous_id"),
            ),
            on="row_number",
        )
        .select(
            "row_number",
            "channel",
            "contact",
            "subscription_group",
            "status",
            "user_id",
            "anonymous_id",
        )
    )
    raw_record = pl.struct(
        [pl.col(field_column(i)).fill_null("").alias(name) for i, name in enumerate(layout.header)]
    ).struct.json_encode()
    rejected = rejected.join(
        rows.select("row_number", raw_record=raw_record), on="row_number", how="left"
    )
    return observations, rejected
