"""Erasure and evidence in the API service (which never opens the warehouse).

- `SuppressionList`: the hashes in force, read from the registry again whenever it changes; a
  PUT entry of a suppressed contact is answered `SUPPRESSED` and never recorded with its
  contact: the inbox keeps only where it was (`suppressed_entries`), for the ledger's count;
- `request_evidence`: the client's name (never its token), the request id and the remote
  address of each recorded request, which become the evidence of its observations.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from subscription_pipeline.erasure.keyed_hash import contact_hash, load_secret
from subscription_pipeline.erasure.registry import registry_path

SUPPRESSED = "SUPPRESSED"
_INBOX_TABLES = """
CREATE TABLE IF NOT EXISTS suppressed_entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    item_index INTEGER NOT NULL,
    day TEXT NOT NULL,
    channel TEXT NOT NULL,
    observations INTEGER NOT NULL          -- the channel's and its groups' (ledger rows)
);
CREATE TABLE IF NOT EXISTS request_evidence (
    request_id TEXT PRIMARY KEY,
    client TEXT,
    remote_addr TEXT
);
"""


class SuppressionList:
    def __init__(self, data_dir: Path) -> None:
        self.path = registry_path(data_dir)
        self._lock = threading.Lock()
        self._signature: tuple | None = None
        self._hashes: frozenset[str] = frozenset()

    def suppressed(self, contacts: list[str]) -> set[str]:
        """The contacts among these whose suppression is in force now."""
        hashes = self._current()
        if not hashes:
            return set()
        secret = load_secret()  # suppressions exist: without the secret, refuse (an error)
        return {c for c in contacts if contact_hash(c, secret) in hashes}

    def _current(self) -> frozenset[str]:
        signature = tuple(
            (p.stat().st_mtime_ns, p.stat().st_size) if p.exists() else None
            for p in (self.path, self.path.with_name(self.path.name + "-wal"))
        )
        with self._lock:
            if signature != self._signature:
                self._hashes = self._read() if signature[0] else frozenset()
                self._signature = signature
            return self._hashes

    def _read(self) -> frozenset[str]:
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            rows = con.execute(
                "SELECT contact_hash FROM suppressions WHERE lifted_at IS NULL"
            ).fetchall()
        finally:
            con.close()
        return frozenset(h for (h,) in rows)


def ensure_inbox_tables(con: sqlite3.Connection) -> None:
    con.executescript(_INBOX_TABLES)


def record_suppressed(
    con: sqlite3.Connection,
    request_id: str,
    accepted_at: datetime,
    entries: list[tuple[int, str, int]],
) -> None:
    """(item index, channel, observations) of each suppressed entry; never its contact."""
    day = accepted_at.date().isoformat()
    con.executemany(
        "INSERT INTO suppressed_entries (request_id, item_index, day, channel, observations) "
        "VALUES (?, ?, ?, ?, ?)",
        [(request_id, index, day, channel, count) for index, channel, count in entries],
    )


def record_request_evidence(
    con: sqlite3.Connection, request_id: str, evidence: dict[str, str | None] | None
) -> None:
    if evidence:
        con.execute(
            "INSERT OR REPLACE INTO request_evidence VALUES (?, ?, ?)",
            (request_id, evidence.get("client"), evidence.get("remote_addr")),
        )


def suppressed_item(channel: str) -> dict[str, Any]:
    """The answer to an entry of a suppressed contact: said, without repeating the address."""
    return {
        "key": None,
        "type": channel.upper(),
        "status": None,
        "locked": False,
        "outcome": "blocked",
        "reason": SUPPRESSED,
        "groups": [],
    }


def suppressed_on_day(con: sqlite3.Connection, day: str) -> int:
    ensure_inbox_tables(con)
    (count,) = con.execute(
        "SELECT coalesce(sum(observations), 0) FROM suppressed_entries WHERE day = ?", (day,)
    ).fetchone()
    return int(count)


def days_with_suppressed_only(con: sqlite3.Connection) -> list[str]:
    """Days holding suppressed entries that no ingestion has counted yet."""
    ensure_inbox_tables(con)
    rows = con.execute(
        "SELECT DISTINCT s.day FROM suppressed_entries s "
        "LEFT JOIN ingested_days i ON i.day = s.day WHERE i.day IS NULL ORDER BY 1"
    ).fetchall()
    return [day for (day,) in rows]
