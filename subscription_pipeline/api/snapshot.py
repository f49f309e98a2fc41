"""The state snapshot the service reads instead of the warehouse.

Each resolution publishes `snapshot/subscription_state.parquet` (a temp file, then an atomic
rename): the whole state table, group rows included (the step needs the email's known groups),
and in its Parquet metadata `inbox_through_seq`, the last inbox entry already folded into it.
The service answers from this snapshot plus the inbox entries after that mark.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from subscription_pipeline.resolve.step import Slot, VectorState

SNAPSHOT_FILE = Path("snapshot") / "subscription_state.parquet"
WATERMARK_KEY = b"inbox_through_seq"

Vector = tuple[str, str]


def snapshot_path(data_dir: Path) -> Path:
    return Path(data_dir) / SNAPSHOT_FILE


def publish_snapshot(con: duckdb.DuckDBPyConnection, data_dir: Path) -> Path:
    """Write the state (after a resolution) where the service reads it; atomic for readers."""
    target = snapshot_path(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    [(through,)] = con.execute(
        "SELECT coalesce(max(row_number), 0) FROM observations WHERE source_kind = 'api'"
    ).fetchall()
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    con.execute(
        "COPY (SELECT * FROM subscription_state ORDER BY contact, channel, subscription_group) "
        "TO ? (FORMAT parquet, KV_METADATA {inbox_through_seq: ?})",
        [str(temp), str(through)],
    )
    with open(temp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temp, target)
    return target


@dataclass(frozen=True)
class VectorSnapshot:
    state: VectorState
    user_id: str | None = None


class Snapshot:
    """One published snapshot, loaded into an in-memory DuckDB (never the warehouse file)."""

    def __init__(self, path: Path | None) -> None:
        self._con = duckdb.connect(":memory:")
        self.inbox_through_seq = 0
        self.rows = 0
        if path is not None:
            metadata = pq.read_schema(path).metadata or {}
            self.inbox_through_seq = int(metadata.get(WATERMARK_KEY, b"0"))
            self._con.execute(
                "CREATE TABLE state AS SELECT * FROM read_parquet(?) ORDER BY contact", [str(path)]
            )
            [(self.rows,)] = self._con.execute("SELECT count(*) FROM state").fetchall()
        else:
            self._con.execute(
                "CREATE TABLE state (channel VARCHAR, contact VARCHAR, subscription_group VARCHAR, "
                "status VARCHAR, status_at TIMESTAMP, source VARCHAR, source_ref VARCHAR, "
                "locked BOOLEAN, user_id VARCHAR)"
            )

    def lookup(self, vectors: list[Vector]) -> dict[Vector, VectorSnapshot]:
        """The state of each known vector (channel row and its group rows)."""
        if not vectors:
            return {}
        cursor = self._con.cursor()  # one connection per call: callers run on many threads
        try:
            rows = cursor.execute(
                "SELECT channel, contact, subscription_group, status, status_at, source, "
                "source_ref, locked, user_id FROM state WHERE contact IN (SELECT unnest(?)) "
                "ORDER BY subscription_group NULLS FIRST",
                [sorted({contact for _, contact in vectors})],
            ).fetchall()
        finally:
            cursor.close()
        wanted = set(vectors)
        channels: dict[Vector, tuple[Slot, bool, str | None]] = {}
        groups: dict[Vector, dict[str, Slot]] = {}
        for channel, contact, group, status, at, source, ref, locked, user_id in rows:
            key = (channel, contact)
            if key not in wanted:
                continue
            slot = Slot(status, at, source, ref)
            if group is None:
                channels[key] = (slot, bool(locked), user_id)
            else:
                groups.setdefault(key, {})[group] = slot
        return {
            key: VectorSnapshot(VectorState(slot, locked, groups.get(key, {})), user_id)
            for key, (slot, locked, user_id) in channels.items()
        }


class SnapshotReader:
    """The current snapshot, reloaded when a reconcile publishes a new file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._signature: tuple | None = None
        self._snapshot = Snapshot(None)

    def current(self) -> Snapshot:
        try:
            stat = self._path.stat()
            signature: tuple | None = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            signature = None
        if signature == self._signature:
            return self._snapshot
        with self._lock:
            if signature != self._signature:
                self._snapshot = Snapshot(self._path if signature else None)
                self._signature = signature
        return self._snapshot
