"""The erasure registry: suppressions, queued requests and their audit, in SQLite.

Beside the API inbox and for the same reason: the service and `forget` must record at once,
even while a reconcile holds the DuckDB warehouse. A request is durable (fsynced) before it is
acknowledged; the warehouse and the files are purged by the next holder of the warehouse
(`apply.apply_erasures`, which every run calls first), then the request forgets its contact.

Tables:
- `suppressions`: one row per keyed hash; `lifted_at` set by `forget --lift`;
- `requests`: erasures to apply; `contact` is kept only until applied (it is needed to find
  the contact's rows), then overwritten (secure_delete) - the hash stays;
- `audit`: every forget and lift: when, by whom, why, the hash; never the contact;
- `settings`: the fingerprint of the secret the hashes were made with.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from subscription_pipeline.durable import open_sqlite, write_transaction
from subscription_pipeline.erasure.keyed_hash import ErasureSecretMissing, key_check

REGISTRY_FILE = Path("erasure") / "registry.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS suppressions (
    contact_hash TEXT PRIMARY KEY,
    erased_at TEXT NOT NULL,
    lifted_at TEXT
);
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    contact TEXT,                          -- normalised; NULL once applied
    contact_hash TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    applied_at TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    action TEXT NOT NULL,                  -- 'forget' | 'lift' | 'applied'
    contact_hash TEXT NOT NULL,
    requested_by TEXT NOT NULL,            -- OS user, or 'api:<client>'
    reason TEXT
);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class PendingErasure:
    seq: int
    contact: str
    contact_hash: str


def registry_path(data_dir: Path) -> Path:
    return Path(data_dir) / REGISTRY_FILE


def now_text(at: datetime | None = None) -> str:
    at = at or datetime.now(UTC)
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


@contextlib.contextmanager
def open_registry(data_dir: Path) -> Iterator[sqlite3.Connection]:
    con = open_sqlite(registry_path(data_dir), _SCHEMA, timeout_seconds=30)
    try:
        # Deleted and overwritten contents are zeroed on disk, not left in free pages.
        con.execute("PRAGMA secure_delete=ON")
        yield con
    finally:
        con.close()


def check_secret(con: sqlite3.Connection, secret: bytes) -> None:
    """The first use records the secret's fingerprint; a different secret later is refused."""
    fingerprint = key_check(secret)
    row = con.execute("SELECT value FROM settings WHERE name = 'key_check'").fetchone()
    if row is None:
        con.execute("INSERT OR IGNORE INTO settings VALUES ('key_check', ?)", (fingerprint,))
    elif row[0] != fingerprint:
        raise ErasureSecretMissing(
            "SUBSCRIPTION_ERASURE_SECRET differs from the secret the suppressions were recorded "
            "with: with another secret they would no longer recognise anyone. Restore it."
        )


def record_forget(
    con: sqlite3.Connection, contact: str, digest: str, requested_by: str, reason: str | None
) -> None:
    """Suppress at once (the service and every later run honour it) and queue the purge."""
    at = now_text()
    with write_transaction(con):
        con.execute(
            "INSERT INTO suppressions VALUES (?, ?, NULL) ON CONFLICT (contact_hash) "
            "DO UPDATE SET erased_at = excluded.erased_at, lifted_at = NULL",
            (digest, at),
        )
        con.execute(
            "INSERT INTO requests (contact, contact_hash, requested_at) VALUES (?, ?, ?)",
            (contact, digest, at),
        )
        con.execute(
            "INSERT INTO audit (at, action, contact_hash, requested_by, reason) "
            "VALUES (?, 'forget', ?, ?, ?)",
            (at, digest, requested_by, reason),
        )


def record_lift(
    con: sqlite3.Connection, digest: str, requested_by: str, reason: str | None
) -> bool:
    """End a suppression for new observations; False when there is none in force."""
    at = now_text()
    with write_transaction(con):
        cursor = con.execute(
            "UPDATE suppressions SET lifted_at = ? WHERE contact_hash = ? AND lifted_at IS NULL",
            (at, digest),
        )
        if cursor.rowcount == 0:
            return False
        con.execute(
            "INSERT INTO audit (at, action, contact_hash, requested_by, reason) "
            "VALUES (?, 'lift', ?, ?, ?)",
            (at, digest, requested_by, reason),
        )
    return True


def is_suppressed(con: sqlite3.Connection, digest: str) -> bool:
    """Is a suppression in force now (a new observation of this hash is left out)?"""
    row = con.execute(
        "SELECT 1 FROM suppressions WHERE contact_hash = ? AND lifted_at IS NULL", (digest,)
    ).fetchone()
    return row is not None


def pending(con: sqlite3.Connection) -> list[PendingErasure]:
    rows = con.execute(
        "SELECT seq, contact, contact_hash FROM requests WHERE applied_at IS NULL ORDER BY seq"
    ).fetchall()
    return [PendingErasure(*row) for row in rows]


def mark_applied(con: sqlite3.Connection, request: PendingErasure) -> None:
    at = now_text()
    with write_transaction(con):
        con.execute(
            "UPDATE requests SET contact = NULL, applied_at = ? WHERE seq = ?", (at, request.seq)
        )
        con.execute(
            "INSERT INTO audit (at, action, contact_hash, requested_by, reason) "
            "VALUES (?, 'applied', ?, 'pipeline', NULL)",
            (at, request.contact_hash),
        )
    # The WAL held the contact too: fold it into the database (zeroed there) and truncate it.
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def suppressions(con: sqlite3.Connection) -> list[tuple[str, str, str | None]]:
    return con.execute(
        "SELECT contact_hash, erased_at, lifted_at FROM suppressions ORDER BY contact_hash"
    ).fetchall()


def audit_rows(con: sqlite3.Connection) -> list[tuple]:
    return con.execute(
        "SELECT seq, at, action, contact_hash, requested_by, reason FROM audit ORDER BY seq"
    ).fetchall()
