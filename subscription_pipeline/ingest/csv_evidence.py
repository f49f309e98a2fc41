"""The proof of consent kept with each CSV observation (SPEC 2.1 and 4), as one JSON text.

`{"file", "sha256", "row", "consent_source", "consent_text", "consent_text_version",
"consent_collected_at", "consent_ip"}`, keys without a value left out. Consent values are kept
trimmed, as written otherwise; they apply to both parts of a row and never to the resolution.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

CONSENT_COLUMNS = (
    "consent_source",
    "consent_text",
    "consent_text_version",
    "consent_collected_at",
    "consent_ip",
)
# A null consent value as json_encode writes it. Inside an encoded string every `"` is escaped,
# so `,"consent_...":null` can only be a key with a null value, never text of a value.
_NULL_CONSENT = r',"consent_[a-z_]+":null'


def trimmed_or_null(column: str) -> pl.Expr:
    value = pl.col(column).str.strip_chars()
    return pl.when(value != "").then(value)


def evidence(file_name: str, sha256: str, consent: Mapping[str, str]) -> pl.Expr:
    """The evidence JSON of each row of an upload frame (`row_number`, consent frame columns)."""
    fields = [
        pl.lit(file_name).alias("file"),
        pl.lit(sha256).alias("sha256"),
        pl.col("row_number").alias("row"),
        *(
            trimmed_or_null(consent[name]).alias(name)
            for name in CONSENT_COLUMNS
            if name in consent
        ),
    ]
    return pl.struct(fields).struct.json_encode().str.replace_all(_NULL_CONSENT, "")
