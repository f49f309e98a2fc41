"""What the UI shows of a table without a notebook: counts, a column schema, a masked preview.

Dagster keeps every materialisation's metadata in its event log for ever, and the UI shows it
to anyone with access: no email address or phone number goes there, only counts and masked
examples (`a***@example.org`, `+1*******10`), as the API service does in its logs.
"""

from __future__ import annotations

import dagster as dg
import duckdb
import polars as pl

PREVIEW_ROWS = 20

# The state table's columns as the UI's "Columns" tab shows them (schema.sql is the definition).
STATE_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("channel", "VARCHAR", "email | sms | whatsapp"),
        dg.TableColumn("contact", "VARCHAR", "normalised email or E.164 phone (personal data)"),
        dg.TableColumn("subscription_group", "VARCHAR", "email group; NULL = the channel itself"),
        dg.TableColumn("status", "VARCHAR", "subscribed | unsubscribed | did_not_subscribe | NULL"),
        dg.TableColumn("status_at", "TIMESTAMP", "effective time of the last applied step (UTC)"),
        dg.TableColumn("source", "VARCHAR", "csv | event | keyword | api | cascade"),
        dg.TableColumn("source_ref", "VARCHAR", "file:row, file#messageId or API request id"),
        dg.TableColumn("locked", "BOOLEAN", "STOP-locked: only a keyword can change it"),
        dg.TableColumn("user_id", "VARCHAR", "the source's user id (personal data)"),
        dg.TableColumn("first_seen_at", "TIMESTAMP", "first observation of the contact vector"),
        dg.TableColumn("last_seen_at", "TIMESTAMP", "last observation of the contact vector"),
    ]
)

# Masks a contact in SQL: first character of an email's local part and its domain; a phone's
# first two and last two digits. Fixed code, no input.
_MASKED_CONTACT = """
    CASE WHEN contact LIKE '%@%'
         THEN left(contact, 1) || '***@' || split_part(contact, '@', 2)
         ELSE left(contact, 2) || repeat('*', greatest(length(contact) - 4, 0)) || right(contact, 2)
    END
"""

STATE_PREVIEW_SQL = f"""
    SELECT channel, {_MASKED_CONTACT} AS contact, coalesce(subscription_group, '') AS "group",
           coalesce(status, '(none)') AS status, status_at, source, locked
    FROM subscription_state ORDER BY status_at DESC NULLS LAST
"""  # a constant fragment, no input

STATE_COUNTS_SQL = """
    SELECT channel, coalesce(subscription_group, '(channel)') AS "group",
           coalesce(status, '(none)') AS status, count(*) AS contacts,
           count(*) FILTER (WHERE locked) AS locked
    FROM subscription_state GROUP BY ALL ORDER BY ALL
"""


def table_preview(con: duckdb.DuckDBPyConnection, sql: str) -> dg.MetadataValue:
    """A markdown preview of a query's first rows (the SQL is fixed code, never input)."""
    # LIMIT in DuckDB: fetching the whole result to keep 20 rows cost ~1 GiB at 2.4M rows.
    frame = con.sql(sql).limit(PREVIEW_ROWS).pl()
    if frame.is_empty():
        return dg.MetadataValue.md("_no rows_")
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = [
        "| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in frame.rows()
    ]
    return dg.MetadataValue.md("\n".join([header, rule, *rows]))


_EMAIL = r"^[^@\s]+@[^@\s]+$"
_PHONE = r"^\+?[0-9][0-9 ()-]{5,}$"


def mask_contacts(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text cell that looks like an email address or a phone number, masked."""
    masked = []
    for name, dtype in frame.schema.items():
        if dtype != pl.String:
            continue
        value = pl.col(name)
        masked.append(
            pl.when(value.str.contains(_EMAIL))
            .then(value.str.slice(0, 1) + "***@" + value.str.split("@").list.last())
            .when(value.str.contains(_PHONE))
            .then(value.str.slice(0, 2) + "***" + value.str.slice(-2))
            .otherwise(value)
            .alias(name)
        )
    return frame.with_columns(masked) if masked else frame
