"""Leaving out what a suppression covers, where a partition's rows are stored (ingest/store.py).

Called for each ledger entry before it is written, inside the partition's transaction, so the
observations of a suppressed contact are never committed, whatever the reader (CSV upload, log
day, API inbox day) and whatever the path (full, incremental, backfill). What is left out is
counted (`suppressed` in the ledger) and placed (`suppressed_records`: file, row, channel -
never the contact), so nothing disappears silently.

An observation is covered when its contact's keyed hash has a suppression in force, or one
lifted after the observation's effective time (after a lift, only newer observations count):
the result depends on the registry and the inputs only, not on when a file was ingested.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from subscription_pipeline.erasure.keyed_hash import HMAC_MACRO, hmac_pads, load_secret

REDACTED = "record of a suppressed contact: its content was removed (erasure)"


def has_suppressions(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT EXISTS (SELECT 1 FROM suppressions)").fetchone()[0])


@dataclass(frozen=True)
class StoredFile:
    """One input file as a partition stored it: its ledger kind, the source kinds of its
    observations, its partition and its name."""

    ledger_kind: str
    observation_kinds: tuple[str, ...]
    partition_key: str
    source_file: str

    @property
    def observations(self) -> list:
        """Parameters for `partition_key = ? AND source_file = ? AND list_contains(?, kind)`."""
        return [self.partition_key, self.source_file, list(self.observation_kinds)]

    @property
    def ledger(self) -> list:
        """Parameters for `source_kind = ? AND partition_key = ? AND source_file = ?`."""
        return [self.ledger_kind, self.partition_key, self.source_file]


def suppress_stored_rows(con: duckdb.DuckDBPyConnection, file: StoredFile) -> int:
    """Remove the covered observations of one input file; return how many of its rows (CSV rows,
    log lines, inbox entries) lost every observation (they move from applied to suppressed)."""
    if not has_suppressions(con):
        return 0  # the usual case costs one lookup, and needs no secret
    inner, outer = hmac_pads(load_secret())
    con.execute(HMAC_MACRO)
    scope = file.observations
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _suppressed_obs AS
        WITH contacts AS (
            SELECT DISTINCT contact FROM observations
            WHERE partition_key = ? AND source_file = ? AND list_contains(?, source_kind)
        ),
        covered AS (
            SELECT c.contact, s.lifted_at
            FROM contacts c
            JOIN suppressions s ON s.contact_hash = _contact_hmac(c.contact, ?, ?)
        )
        SELECT o.rowid AS rid, o.row_number, o.channel, o.contact, c.lifted_at IS NULL AS active
        FROM observations o
        JOIN covered c USING (contact)
        WHERE o.partition_key = ? AND o.source_file = ? AND list_contains(?, o.source_kind)
          AND (c.lifted_at IS NULL OR o.effective_at <= c.lifted_at)
        """,
        [*scope, inner, outer, *scope],
    )
    try:
        _redact_rejected_emails(con, file, inner, outer)
        return _leave_out(con, file)
    finally:
        con.execute("DROP TABLE IF EXISTS _suppressed_obs")


def _redact_rejected_emails(
    con: duckdb.DuckDBPyConnection, file: StoredFile, inner: bytes, outer: bytes
) -> None:
    """A record rejected whole has no observation to recognise it by: its raw text is searched
    for email addresses, and one under suppression has the record redacted (and its cached
    spelling dropped). Phone numbers need libphonenumber to compare: docs/consent.md."""
    con.execute(
        r"""
        CREATE OR REPLACE TEMP TABLE _suppressed_rejections AS
        SELECT DISTINCT t.rid, t.token
        FROM (
            SELECT rowid AS rid,
                   unnest(regexp_extract_all(
                       lower(raw_record), '[^\s,;"''<>()\[\]{}:]+@[^\s,;"''<>()\[\]{}:]+'
                   )) AS token
            FROM rejections
            WHERE source_kind = ? AND partition_key = ? AND source_file = ?
              AND contains(raw_record, '@')
        ) t
        JOIN suppressions s
            ON s.contact_hash = _contact_hmac(t.token, ?, ?) AND s.lifted_at IS NULL
        """,
        [*file.ledger, inner, outer],
    )
    con.execute(
        "UPDATE rejections SET raw_record = NULL, error_message = ? "
        "WHERE rowid IN (SELECT rid FROM _suppressed_rejections)",
        [REDACTED],
    )
    con.execute(
        "DELETE FROM normalized_identifiers WHERE kind = 'email' "
        "AND normalized IN (SELECT token FROM _suppressed_rejections)"
    )
    con.execute("DROP TABLE _suppressed_rejections")


def _leave_out(con: duckdb.DuckDBPyConnection, file: StoredFile) -> int:
    (found,) = con.execute("SELECT count(*) FROM _suppressed_obs").fetchone()
    if not found:
        return 0
    con.execute(
        "INSERT INTO suppressed_records SELECT DISTINCT ?, ?, ?, row_number, channel "
        "FROM _suppressed_obs",
        file.ledger,
    )
    con.execute("DELETE FROM observations WHERE rowid IN (SELECT rid FROM _suppressed_obs)")
    # Rows with nothing left were applied only for suppressed contacts.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _suppressed_rows AS
        SELECT DISTINCT row_number FROM _suppressed_obs s
        WHERE NOT EXISTS (
            SELECT 1 FROM observations o
            WHERE o.partition_key = ? AND o.source_file = ?
              AND list_contains(?, o.source_kind) AND o.row_number = s.row_number
        )
        """,
        file.observations,
    )
    (rows,) = con.execute("SELECT count(*) FROM _suppressed_rows").fetchone()
    # A row left out whole keeps no evidence either.
    con.execute(
        "DELETE FROM record_evidence WHERE source_kind = ? AND partition_key = ? "
        "AND source_file = ? AND row_number IN (SELECT row_number FROM _suppressed_rows)",
        file.ledger,
    )
    contacts = "SELECT DISTINCT contact FROM _suppressed_obs"
    # What else of this file named them: its rejected parts, the spellings cached.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _suppressed_spellings AS
        SELECT contact AS spelling FROM ({contacts})
        UNION
        SELECT lower(trim(raw)) FROM normalized_identifiers WHERE normalized IN ({contacts})
        """  # a constant subquery, no data
    )
    con.execute(
        """
        UPDATE rejections SET raw_record = NULL, error_message = ?
        WHERE source_kind = ? AND partition_key = ? AND source_file = ?
          AND (row_number IN (SELECT row_number FROM _suppressed_obs)
               OR EXISTS (SELECT 1 FROM _suppressed_spellings p
                          WHERE contains(lower(coalesce(raw_record, '')), p.spelling)
                             OR contains(lower(error_message), p.spelling)))
        """,
        [REDACTED, *file.ledger],
    )
    con.execute(f"DELETE FROM normalized_identifiers WHERE normalized IN ({contacts})")
    # Queued for resolution by the reader; while the suppression is in force nothing of theirs
    # is left to resolve (an erasure purged the rest), and the queue must not keep the contact.
    con.execute(
        "DELETE FROM dirty_vectors WHERE contact IN "
        "(SELECT contact FROM _suppressed_obs WHERE active)"
    )
    if file.ledger_kind == "event_log":
        # A suppressed line is neither applied nor a duplicate copy in the ledger's recount.
        con.execute(
            "UPDATE log_messages SET outcome = 'suppressed' "
            "WHERE partition_key = ? AND source_file = ? "
            "AND line_number IN (SELECT row_number FROM _suppressed_rows)",
            [file.partition_key, file.source_file],
        )
    con.execute("DROP TABLE IF EXISTS _suppressed_rows")
    con.execute("DROP TABLE IF EXISTS _suppressed_spellings")
    return rows
