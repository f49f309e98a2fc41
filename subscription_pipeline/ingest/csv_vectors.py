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
- No cell longer than MAX_VALUE_CHARS is read: a key or status that long is an error of its
  part (INVALID_EMAIL, INVALID_PHONE, INVALID_SUBSCRIPTION_STATUS); a `user_id`,
  `anonymous_id` or consent value that long belongs to no part and rejects its row
  (VALUE_TOO_LONG). An over-long key never reaches the normaliser or its cache.

Judging takes data only: the rows, their layout, and a lookup of normalised keys.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from subscription_pipeline.errors import RecordError
from subscription_pipeline.ingest.csv_evidence import trimmed_or_null
from subscription_pipeline.ingest.csv_header import CsvLayout
from subscription_pipeline.ingest.csv_read import MAX_VALUE_CHARS, field_column
from subscription_pipeline.vocabulary import CSV_STATUS_SPELLINGS

# (kind 'email' | 'phone', distinct raw values) -> raw, normalized (NULL if invalid), error_message
Lookup = Callable[[str, list[str]], pl.DataFrame]

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


def _too_long(column: str) -> pl.Expr:
    return pl.col(column).str.len_chars() > MAX_VALUE_CHARS


def _length_error(column: str) -> pl.Expr:
    return pl.format(
        "{} characters, over the limit of {}", pl.col(column).str.len_chars(), MAX_VALUE_CHARS
    )


def _optional(layout: CsvLayout, identifier: str) -> pl.Expr:
    if identifier not in layout.identifiers:
        return pl.lit(None, dtype=pl.String)
    return trimmed_or_null(layout.identifiers[identifier])


def _has_identifier(layout: CsvLayout) -> pl.Expr:
    keys = [_present(layout.identifiers[v]) for v in _VECTORS if v in layout.identifiers]
    return pl.any_horizontal(keys)


def vector_keys(rows: pl.DataFrame, layout: CsvLayout, lookup: Lookup) -> pl.DataFrame:
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
        readable = _present("raw_key") & ~_too_long("raw_key")
        wanted = part.filter(readable).get_column("raw_key").unique()
        normalized = lookup(kind, wanted.to_list())
        part = part.join(normalized, left_on="raw_key", right_on="raw", how="left")
        empty = f"{vector} is empty but the row has {vector} statuses"
        frames.append(
            part.select(
                "row_number",
                "vector",
                "raw_key",
                key_error=pl.when(readable)
                .then(pl.col("error_message"))
                .when(_present("raw_key"))
                .then(_length_error("raw_key"))
                .otherwise(pl.lit(empty)),
                contact=pl.when(readable).then(pl.col("normalized")),
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
    cells = pl.concat(frames).with_columns(token=trimmed_or_null("raw_status").str.to_lowercase())
    return cells.with_columns(
        status=pl.col("token").replace_strict(CSV_STATUS_SPELLINGS, default=None)
    )


def _row_values(rows: pl.DataFrame, layout: CsvLayout) -> pl.DataFrame:
    """(row_number, column, chars) of each value that belongs to no part of its row."""
    columns = {
        layout.identifier_names[name]: layout.identifiers[name]
        for name in ("user_id", "anonymous_id")
        if name in layout.identifiers
    } | layout.consent
    frames = [
        rows.select(
            "row_number", column=pl.lit(name), chars=pl.col(column).str.len_chars().cast(pl.Int64)
        )
        for name, column in columns.items()
    ]
    schema = {"row_number": pl.Int64, "column": pl.String, "chars": pl.Int64}
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def _failures(
    rows: pl.DataFrame, keys: pl.DataFrame, cells: pl.DataFrame, layout: CsvLayout
) -> pl.DataFrame:
    """Every failure as (row_number, vector, error_code, error_message, rank)."""
    # Here, not at the top: pandera (and pandas under it) cost a second to import, and only
    # the validation of an upload's rows needs them.
    from subscription_pipeline.ingest.csv_models import (
        RowIdentifierModel,
        RowValueModel,
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
    too_long = failing_rows(RowValueModel, _row_values(rows, layout), "chars").select(
        "row_number",
        vector=pl.lit(None, dtype=pl.String),
        error_code=pl.lit(RecordError.VALUE_TOO_LONG.value),
        error_message=pl.format(
            "column '{}': {} characters, over the limit of {}",
            "column",
            "chars",
            pl.lit(MAX_VALUE_CHARS),
        ),
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
            pl.when(_present("raw_key") & ~_too_long("raw_key"))
            .then(pl.format("'{}': ", "raw_key"))
            .otherwise(pl.lit("")),
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
        error_message=pl.when(_too_long("raw_status"))
        .then(
            pl.format(
                "column '{}': {}, not a subscription status",
                "column",
                _length_error("raw_status"),
            )
        )
        .otherwise(
            pl.format(
                "column '{}': '{}' is not a subscription status ({})",
                "column",
                "raw_status",
                pl.lit(_SPELLINGS),
            )
        ),
    )
    return pl.concat(
        [
            frame.with_columns(rank=pl.lit(rank)).cast(_FAILURE_SCHEMA | {"rank": pl.Int32})
            for rank, frame in enumerate((missing, too_long, bad_keys, bad_statuses))
        ]
    )


def judge_rows(
    rows: pl.DataFrame, layout: CsvLayout, lookup: Lookup, evidence: pl.Expr | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(observations, rejected vectors) of an upload's rows.

    observations: row_number, channel, contact, subscription_group, status, user_id,
    anonymous_id, evidence (`evidence` computed over `rows`, NULL without one). rejected:
    row_number, vector (NULL for the whole row), error_code, error_message, raw_record (the row
    as JSON of header -> value).
    """
    keys = vector_keys(rows, layout, lookup)
    cells = status_cells(rows, layout)
    rejected = (
        _failures(rows, keys, cells, layout)
        .sort("row_number", "vector", "rank", nulls_last=False, maintain_order=True)
        .group_by("row_number", "vector", maintain_order=True)
        .agg(pl.col("error_code").first(), pl.col("error_message").str.join("; "))
    )
    whole_rows = rejected.filter(pl.col("vector").is_null()).select("row_number")
    accepted = keys.join(rejected, on=["row_number", "vector"], how="anti").join(
        whole_rows, on="row_number", how="anti"
    )
    observations = (
        cells.filter(pl.col("subscription_group").is_null() | pl.col("status").is_not_null())
        .join(accepted.select("row_number", "vector", "contact"), on=["row_number", "vector"])
        .join(
            rows.select(
                "row_number",
                user_id=_optional(layout, "user_id"),
                anonymous_id=_optional(layout, "anonymous_id"),
                evidence=pl.lit(None, dtype=pl.String) if evidence is None else evidence,
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
            "evidence",
        )
    )
    raw_record = pl.struct(
        [pl.col(field_column(i)).fill_null("").alias(name) for i, name in enumerate(layout.header)]
    ).struct.json_encode()
    failed = rows.join(rejected.select("row_number").unique(), on="row_number", how="semi")
    rejected = rejected.join(
        failed.select("row_number", raw_record=raw_record), on="row_number", how="left"
    )
    return observations, rejected
