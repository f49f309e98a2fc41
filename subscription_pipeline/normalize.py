"""Email and phone normalisation (SPEC 2.4), each distinct raw value parsed once and cached."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import phonenumbers
import polars as pl
from email_validator import EmailNotValidError, validate_email

DEFAULT_REGION = "US"


def normalize_email(raw: str) -> tuple[str | None, str | None]:
    """(normalised email, None) or (None, reason). Trimmed, lower-cased, syntax only, no DNS."""
    candidate = raw.strip().lower()
    if not candidate:
        return None, "email is empty"
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, f"not a valid email address: {exc}"
    return result.normalized.lower(), None


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> tuple[str | None, str | None]:
    """(E.164 number, None) or (None, reason); national numbers parse in the default region."""
    candidate = raw.strip()
    if not candidate:
        return None, "phone is empty"
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException as exc:
        return None, f"not a phone number: {exc}"
    if not phonenumbers.is_valid_number(number):
        return None, f"not a valid phone number in region {region}"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def normalize_values(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    raw_values: Iterable[str],
    region: str = DEFAULT_REGION,
) -> pl.DataFrame:
    """Map raw -> (normalized, error_message) through the warehouse's cache table.

    Only values never seen before reach the Python parsers; the rest come from the cache.
    """
    cache_region = region if kind == "phone" else ""
    wanted = pl.DataFrame({"raw": list(raw_values)}, schema={"raw": pl.String}).unique()
    con.register("wanted_raw", wanted)
    try:
        # duckdb 2: `.pl()` lives on relations (con.sql), no longer on execute() results.
        missing = con.sql(
            """
            SELECT w.raw FROM wanted_raw w
            ANTI JOIN (SELECT raw FROM normalization_cache WHERE kind = ? AND region = ?) c
              ON c.raw = w.raw
            """,
            params=[kind, cache_region],
        ).pl()
        if missing.height:
            parse = (
                normalize_email
                if kind == "email"
                else (lambda value: normalize_phone(value, region))
            )
            parsed = [parse(value) for value in missing["raw"].to_list()]
            fresh = pl.DataFrame(
                {
                    "kind": kind,
                    "region": cache_region,
                    "raw": missing["raw"],
                    "normalized": [value for value, _ in parsed],
                    "error_message": [error for _, error in parsed],
                },
                schema={
                    "kind": pl.String,
                    "region": pl.String,
                    "raw": pl.String,
                    "normalized": pl.String,
                    "error_message": pl.String,
                },
            )
            con.register("fresh_normalized", fresh)
            con.execute(
                "INSERT OR IGNORE INTO normalization_cache "
                "SELECT kind, region, raw, normalized, error_message FROM fresh_normalized"
            )
            con.unregister("fresh_normalized")
        return con.sql(
            """
            SELECT w.raw, c.normalized, c.error_message
            FROM wanted_raw w
            JOIN normalization_cache c ON c.raw = w.raw AND c.kind = ? AND c.region = ?
            """,
            params=[kind, cache_region],
        ).pl()
    finally:
        con.unregister("wanted_raw")
