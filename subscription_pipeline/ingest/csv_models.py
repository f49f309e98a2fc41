"""Pandera models of an upload's rows, contact keys and status cells, and their failing rows.

Each model declares the one rule whose failure is a row-level error code (SPEC 2.1); the frames
are validated with `lazy=True` so that every failing row is found in one pass, and pandera's
`failure_cases` (one row per failing frame row, with its `index`) map back to the frame.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from subscription_pipeline.ingest.csv_read import MAX_VALUE_CHARS
from subscription_pipeline.vocabulary import CSV_STATUS_SPELLINGS


class RowIdentifierModel(pa.DataFrameModel):
    """A row needs an email or a phone value (else MISSING_IDENTIFIER)."""

    row_number: int = pa.Field(ge=1)
    has_identifier: bool = pa.Field(isin=[True])


class RowValueModel(pa.DataFrameModel):
    """A value of no part (user_id, anonymous_id, consent) must fit (else VALUE_TOO_LONG)."""

    row_number: int = pa.Field(ge=1)
    column: str
    chars: int = pa.Field(le=MAX_VALUE_CHARS, nullable=True)


class VectorKeyModel(pa.DataFrameModel):
    """A row's email or phone part needs a key that normalises (else INVALID_EMAIL/PHONE)."""

    row_number: int = pa.Field(ge=1)
    vector: str = pa.Field(isin=["email", "phone"])
    raw_key: str = pa.Field(nullable=True)
    key_error: str = pa.Field(nullable=True)
    contact: str = pa.Field(nullable=False)


class StatusCellModel(pa.DataFrameModel):
    """A non-blank status value must be a known spelling (else INVALID_SUBSCRIPTION_STATUS)."""

    row_number: int = pa.Field(ge=1)
    vector: str = pa.Field(isin=["email", "phone"])
    column: str
    raw_status: str
    token: str = pa.Field(isin=list(CSV_STATUS_SPELLINGS))


def failing_rows(model: type[pa.DataFrameModel], frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """The rows of `frame` that fail `model`'s check on `column`.

    Any other failure (a wrong dtype, a row number below 1) is a bug of the caller, not of the
    upload, and is raised.
    """
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        unexpected = cases.filter((pl.col("column") != column) | pl.col("index").is_null())
        if unexpected.height:
            raise
        index = cases.get_column("index").cast(pl.UInt32).unique()
        failing = frame.with_row_index("_index").filter(pl.col("_index").is_in(index))
        # One chunk: polars 2.1 panics in `pl.format` over a filtered frame left with an empty
        # chunk (the email part of `keys` when only phone keys fail).
        return failing.drop("_index").rechunk()
    return frame.clear()
