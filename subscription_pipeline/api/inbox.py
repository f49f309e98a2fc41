"""The API's durable inbox: SQLite in WAL mode, never the DuckDB warehouse.

A running Dagster job may hold the warehouse (DuckDB allows one writer process), so the service
records each accepted request here, one transaction per request, fsynced before it answers
(`synchronous=FULL`). WAL lets the reconcile read (and mark) the inbox while the service writes.

Tables:
- `requests`: one row per accepted request, with its answer, so that a retry with the same
  Idempotency-Key is recorded once and answered the same;
- `entries`: one row per observation (an entry's channel status, and each of its groups);
  `seq` is global and increasing with the acceptance time;
- `ingested_days`: per accepted day, the last `seq` a reconcile ingested into the warehouse.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from subscription_pipeline.durable import open_sqlite, write_transaction

INBOX_FILE = Path("inbox") / "api_inbox.sqlite3"
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY,
    space_id TEXT NOT NULL,
    idempotency_key TEXT,
    body_sha256 TEXT NOT NULL,
    accepted_at TEXT NOT NULL,             -- UTC, strictly increasing
    day TEXT NOT NULL,
    response TEXT NOT NULL                 -- the JSON answered, returned again on a retry
);
CREATE UNIQUE INDEX IF NOT EXISTS requests_idempotency
    ON requests (space_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS requests_accepted ON requests (accepted_at);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL REFERENCES requests (request_id),
    item_index INTEGER NOT NULL,           -- position of the entry in the request
    day TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    channel TEXT NOT NULL,
    contact TEXT NOT NULL,                 -- normalised email or E.164 phone
    subscription_group TEXT,               -- NULL = the channel itself
    status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_vector ON entries (channel, contact, seq);
CREATE INDEX IF NOT EXISTS entries_day ON entries (day, seq);
CREATE TABLE IF NOT EXISTS ingested_days (
    day TEXT PRIMARY KEY,
    through_seq INTEGER NOT NULL,
    entries INTEGER NOT NULL,
    ingested_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class NewEntry:
    item_index: int
    channel: str
    contact: str
    subscription_group: str | None
    status: str


@dataclass(frozen=True)
class StoredEntry:
    seq: int
    request_id: str
    accepted_at: datetime
    channel: str
    contact: str
    subscription_group: str | None
    status: str


def inbox_path(data_dir: Path) -> Path:
    return Path(data_dir) / INBOX_FILE


def format_time(at: datetime) -> str:
    return at.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)  # much faster than strptime, on the answer's path


def open_inbox(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, fsync on commit."""
    return open_sqlite(
        path, _SCHEMA, timeout_seconds=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
    )


def find_request(
    con: sqlite3.Connection, space_id: str, idempotency_key: str
) -> tuple[str, str] | None:
    """(body_sha256, response) of the request already recorded under this key, if any."""
    row = con.execute(
        "SELECT body_sha256, response FROM requests WHERE space_id = ? AND idempotency_key = ?",
        (space_id, idempotency_key),
    ).fetchone()
    return None if row is None else (row[0], row[1])


def next_accepted_at(con: sqlite3.Connection, now: datetime) -> datetime:
    """`now`, or just after the last accepted request if the clock went back: the acceptance
    order is the `seq` order, so replay order and inbox order agree."""
    (last,) = con.execute("SELECT max(accepted_at) FROM requests").fetchone()
    if last is None:
        return now
    return max(now, parse_time(last) + timedelta(microseconds=1))


def insert_entries(
    con: sqlite3.Connection, request_id: str, accepted_at: datetime, entries: list[NewEntry]
) -> list[int]:
    """Insert a request's entries (inside its transaction); their `seq`, in order."""
    at = format_time(accepted_at)
    day = at[:10]
    seqs = []
    for entry in entries:  # a request's handful of entries, not bulk data
        cursor = con.execute(
            "INSERT INTO entries (request_id, item_index, day, accepted_at, channel, contact, "
            "subscription_group, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                request_id,
                entry.item_index,
                day,
                at,
                entry.channel,
                entry.contact,
                entry.subscription_group,
                entry.status,
            ),
        )
        seqs.append(cursor.lastrowid)
    return seqs


def insert_request(
    con: sqlite3.Connection,
    *,
    request_id: str,
    space_id: str,
    idempotency_key: str | None,
    body_sha256: str,
    accepted_at: datetime,
    response: str,
) -> None:
    at = format_time(accepted_at)
    con.execute(
        "INSERT INTO requests (request_id, space_id, idempotency_key, body_sha256, accepted_at, "
        "day, response) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (request_id, space_id, idempotency_key, body_sha256, at, at[:10], response),
    )


def entries_after(
    con: sqlite3.Connection, vectors: list[tuple[str, str]], after_seq: int
) -> list[StoredEntry]:
    """The entries of these (channel, contact) vectors with seq > after_seq, in seq order."""
    found: list[StoredEntry] = []
    for channel, contact in sorted(set(vectors)):  # the request's few vectors, by index
        rows = con.execute(
            "SELECT seq, request_id, accepted_at, channel, contact, subscription_group, status "
            "FROM entries WHERE channel = ? AND contact = ? AND seq > ? ORDER BY seq",
            (channel, contact, after_seq),
        ).fetchall()
        found += [StoredEntry(r[0], r[1], parse_time(r[2]), *r[3:]) for r in rows]
    return sorted(found, key=lambda e: e.seq)


def accepted_days(path: Path) -> list[str]:
    """Every day with accepted entries, ingested or not (a run that re-reads every input)."""
    if not path.exists():
        return []
    con = open_inbox(path)
    try:
        rows = con.execute("SELECT DISTINCT day FROM entries ORDER BY day").fetchall()
    finally:
        con.close()
    return [day for (day,) in rows]


def days_with_new_entries(path: Path) -> list[str]:
    """Accepted days holding entries that no reconcile has ingested yet."""
    if not path.exists():
        return []
    con = open_inbox(path)
    try:
        rows = con.execute(
            """
            SELECT e.day FROM entries e LEFT JOIN ingested_days i ON i.day = e.day
            GROUP BY e.day, i.through_seq
            HAVING i.through_seq IS NULL OR max(e.seq) > i.through_seq
            ORDER BY e.day
            """
        ).fetchall()
    finally:
        con.close()
    return [day for (day,) in rows]


def mark_ingested(
    con: sqlite3.Connection, day: str, through_seq: int, entries: int, at: datetime
) -> None:
    """Called after the warehouse committed the day: a crash before it only re-ingests the day."""
    with write_transaction(con):
        con.execute(
            "INSERT OR REPLACE INTO ingested_days (day, through_seq, entries, ingested_at) "
            "VALUES (?, ?, ?, ?)",
            (day, through_seq, entries, format_time(at)),
        )


def recorded_spaces(path: Path) -> set[str]:
    """The space ids of the requests recorded in an inbox (none when it does not exist)."""
    if not path.exists():
        return set()
    con = open_inbox(path)
    try:
        return {space for (space,) in con.execute("SELECT DISTINCT space_id FROM requests")}
    finally:
        con.close()
