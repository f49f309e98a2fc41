"""Writing Segment event logs for tests: the S3 destination's layout, gzipped NDJSON."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from subscription_pipeline.ingest.log_layout import LOGS_DIR, day_to_epoch_ms
from tests.ledger_checks import unbalanced_files

SOURCE_ID = "src-web"
DAY = "2024-03-15"


def day_dir(data_dir: Path, day: str, source_id: str = SOURCE_ID) -> Path:
    path = data_dir / LOGS_DIR / source_id / str(day_to_epoch_ms(day))
    path.mkdir(parents=True, exist_ok=True)
    return path


def encode_lines(lines: list[dict[str, Any] | str]) -> bytes:
    """Each dict as one JSON line; a str is written verbatim (for broken lines)."""
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    return text.encode("utf-8")


def write_log(
    data_dir: Path,
    day: str,
    name: str,
    lines: list[dict[str, Any] | str],
    source_id: str = SOURCE_ID,
) -> str:
    """Write a log file (gzipped when name ends in .gz); return its path relative to data_dir."""
    path = day_dir(data_dir, day, source_id) / name
    payload = encode_lines(lines)
    path.write_bytes(gzip.compress(payload) if name.endswith(".gz") else payload)
    return path.relative_to(data_dir).as_posix()


def write_day_log(data_dir: Path, lines: list[dict[str, Any] | str], name: str = "a.gz") -> str:
    """`write_log` for the usual case: one file of DAY."""
    return write_log(data_dir, DAY, name, lines)


def identify(
    message_id: str | None,
    subscriptions: list[dict[str, Any]],
    timestamp: str | None = "2024-03-15T10:00:00Z",
    received_at: str | None = "2024-03-15T10:00:05Z",
    **extra: Any,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "identify",
        "userId": "user-1",
        "context": {"messaging_subscriptions": subscriptions},
        **extra,
    }
    for key, value in (
        ("messageId", message_id),
        ("timestamp", timestamp),
        ("receivedAt", received_at),
    ):
        if value is not None:
            message[key] = value
    return message


def inbound(
    message_id: str | None,
    sender: str | None,
    body: str,
    event: str = "SMS Received",
    timestamp: str | None = "2024-03-15T11:00:00Z",
    received_at: str | None = "2024-03-15T11:00:01Z",
) -> dict[str, Any]:
    message = identify(message_id, [], timestamp, received_at)
    del message["context"]
    properties: dict[str, Any] = {"body": body}
    if sender is not None:
        properties["from"] = sender
    return {**message, "type": "track", "event": event, "properties": properties}


def entry(key: Any, type_: Any = "EMAIL", status: Any = "SUBSCRIBED", **extra: Any) -> dict:
    return {"key": key, "type": type_, "status": status, **extra}


def ledger(con: Any, day: str | None = None) -> dict[str, dict[str, Any]]:
    """Event-log ledger rows by file name (last path part), as dicts."""
    sql = "SELECT * FROM input_ledger WHERE source_kind = 'event_log'"
    params: list[Any] = []
    if day is not None:
        sql += " AND partition_key = ?"
        params.append(day)
    rows = con.sql(sql, params=params).pl().to_dicts()
    return {row["source_file"].rsplit("/", 1)[-1]: row for row in rows}


def assert_balanced(con: Any) -> None:
    """The accounting identity holds for every event-log file in the ledger."""
    assert unbalanced_files(con, "event_log") == []


def ingest_day(con: Any, data_dir: Path, day: str = DAY) -> list:
    """Ingest one day folder with the default settings; every file must balance."""
    from subscription_pipeline.ingest.event_logs import ingest_log_day
    from subscription_pipeline.ingest.settings import IngestSettings

    entries = ingest_log_day(con, data_dir, day, IngestSettings())
    assert_balanced(con)
    return entries
