"""When an upload happened (SPEC 2.1): decided once per file name and never changed again.

A `YYYYMMDDTHHMMSSZ_` prefix in the file name states the time (how backfills give history);
otherwise the file's modification time the first time the pipeline saw it, kept in
`upload_times` so that a later `touch` or rebuild replays the upload at the same moment.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import duckdb

_PREFIX = re.compile(r"^(\d{8}T\d{6}Z)_")


def _naive_utc(moment: datetime) -> datetime:
    # The warehouse stores UTC as naive TIMESTAMP.
    return moment.astimezone(UTC).replace(tzinfo=None)


def uploaded_at_from_name(file_name: str) -> datetime | None:
    """The UTC time stated by the file-name prefix; None without one or for an impossible date."""
    match = _PREFIX.match(file_name)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ")
    except ValueError:
        return None


def resolve_uploaded_at(con: duckdb.DuckDBPyConnection, file_name: str, mtime: float) -> datetime:
    """The upload's time: its name prefix, else the mtime first registered for this name."""
    stated = uploaded_at_from_name(file_name)
    if stated is None:
        # fetchall: duckdb 2 keeps a partly fetched result open and refuses the next statement.
        known = con.execute(
            "SELECT uploaded_at FROM upload_times WHERE file_name = ?", [file_name]
        ).fetchall()
        if known:
            return known[0][0]
    uploaded_at = stated or _naive_utc(datetime.fromtimestamp(mtime, UTC))
    con.execute(
        "INSERT OR IGNORE INTO upload_times (file_name, uploaded_at, origin, registered_at) "
        "VALUES (?, ?, ?, ?)",
        [
            file_name,
            uploaded_at,
            "file_name" if stated else "mtime",
            _naive_utc(datetime.now(UTC)),
        ],
    )
    return uploaded_at
