"""The proof of consent kept with each CSV observation (SPEC 2.1 and 4), as one JSON text.

`{"file", "sha256", "row", "consent_source", "consent_text", "consent_text_version",
"consent_collected_at", "consent_ip"}`, keys without a value left out. Consent values are kept
trimmed, as written otherwise; they apply to both parts of a row and never to the resolution.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import polars as pl

CONSENT_COLUMNS = (
    "consent_source",
    "consent_text",
    "consent_text_version",
    "consent_collected_at",
    "consent_ip",
)


def trimmed_or_null(column: str) -> pl.Expr:
    value = pl.col(column).str.strip_chars()
    return pl.when(value != "").then(value)


def _json_string(value: pl.Expr) -> pl.Expr:
    """A string as a JSON string literal: `{"v":<literal>}` without its first 5 and last char."""
    return pl.struct(value.alias("v")).struct.json_encode().str.slice(5).str.head(-1)


def evidence(file_name: str, sha256: str, consent: Mapping[str, str]) -> pl.Expr:
    """The evidence JSON of each row of an upload frame (`row_number`, consent frame columns).

    Built by concatenation: the file's part is encoded once, and a consent key is written only
    where its trimmed value is not blank.
    """
    head = "{" + f'"file":{json.dumps(file_name, ensure_ascii=False)},"sha256":"{sha256}","row":'
    parts = [pl.lit(head), pl.col("row_number").cast(pl.String)]
    for name in CONSENT_COLUMNS:
        if name in consent:
            value = trimmed_or_null(consent[name])
            key = pl.lit(f',"{name}":')
            parts.append(pl.when(value.is_not_null()).then(pl.concat_str(key, _json_string(value))))
    parts.append(pl.lit("}"))
    return pl.concat_str(parts, ignore_nulls=True)
