"""The state snapshot the service reads instead of the warehouse.

Each resolution publishes `snapshot/subscription_state.parquet` (a temp file, then an atomic
rename): the whole state table, group rows included (the step needs the email's known groups),
and in its Parquet metadata `inbox_through_seq`, the last inbox entry already folded into it.
The service answers from this snapshot plus the inbox entries after that mark.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq

from subscription_pipeline.resolve.step import Slot, VectorState
from subscription_pipeline.warehouse.columns import STATE_COLUMNS

log = logging.getLogger("subscription_pipeline.api")
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
        # Unsorted: Snapshot sorts by contact as it loads (a sort here would be a second one).
        "COPY (SELECT * FROM subscription_state) "
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


# What an answer needs of a state row (first/last seen are for analysts).
_COLUMNS = tuple(c for c in STATE_COLUMNS if c not in ("first_seen_at", "last_seen_at"))


class Snapshot:
    """One published snapshot, held in memory sorted by contact (never the warehouse file).

    A lookup is a binary search on the sorted contacts: microseconds, whatever the state's size,
    where a query per request would cost milliseconds.
    """

    def __init__(self, path: Path | None) -> None:
        self.inbox_through_seq = 0
        if path is None:
            self._frame = pl.DataFrame(
                schema={name: pl.String for name in _COLUMNS}
                | {"status_at": pl.Datetime("us"), "locked": pl.Boolean}
            )
        else:
            metadata = pq.read_schema(path).metadata or {}
            self.inbox_through_seq = int(metadata.get(WATERMARK_KEY, b"0"))
            self._frame = pl.read_parquet(path, columns=list(_COLUMNS)).sort("contact")
        self._contacts = self._frame.get_column("contact")
        self.rows = self._frame.height

    def lookup(self, vectors: list[Vector]) -> dict[Vector, VectorSnapshot]:
        """The state of each known vector (channel row and its group rows)."""
        wanted = set(vectors)
        channels: dict[Vector, tuple[Slot, bool, str | None]] = {}
        groups: dict[Vector, dict[str, Slot]] = {}
        for contact in sorted({contact for _, contact in vectors}):
            probe = pl.Series([contact], dtype=pl.String)
            first = int(self._contacts.search_sorted(probe, side="left")[0])
            last = int(self._contacts.search_sorted(probe, side="right")[0])
            rows = self._frame.slice(first, last - first).sort(
                "subscription_group", nulls_last=False
            )
            for channel, _, group, status, at, source, ref, locked, user_id in rows.iter_rows():
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
    """The current snapshot; a newly published file is loaded in the background.

    Until it is loaded, answers keep using the previous snapshot with the inbox entries after
    its own mark: still exact (the inbox keeps every entry), and no request waits for a load.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._signature = self._stat()
        self._snapshot = Snapshot(path if self._signature else None)
        self._loading = False

    def _stat(self) -> tuple | None:
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def current(self) -> Snapshot:
        signature = self._stat()
        if signature is not None and signature != self._signature:
            with self._lock:
                start = not self._loading
                self._loading = True
            if start:
                threading.Thread(target=self._load, args=(signature,), daemon=True).start()
        return self._snapshot

    def _load(self, signature: tuple) -> None:
        try:
            snapshot = Snapshot(self._path)
            self._snapshot, self._signature = snapshot, signature
        except Exception:  # a file replaced while read: the next request tries again
            log.exception("could not load the state snapshot; keeping the previous one")
        finally:
            with self._lock:
                self._loading = False
