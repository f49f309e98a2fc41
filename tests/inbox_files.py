"""An API inbox written as the service writes it, for tests of the inbox as a source."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from subscription_pipeline.api.inbox import (
    NewEntry,
    inbox_path,
    insert_entries,
    insert_request,
    open_inbox,
    write_transaction,
)
from subscription_pipeline.erasure.api_support import (
    ensure_inbox_tables,
    record_request_evidence,
    record_suppressed,
)


def write_inbox(data_dir: Path, erased: str) -> None:
    """Three requests over two days (2024-03-02, -03), with request evidence; an entry made
    outside the vocabulary by hand (channel 'push'); one entry the service suppressed; two
    entries for `erased` (a contact the test erases)."""
    con = open_inbox(inbox_path(data_dir))
    try:
        ensure_inbox_tables(con)
        requests = [
            ("req_a", datetime(2024, 3, 2, 9, 0, tzinfo=UTC), "ann@example.com", "subscribed"),
            ("req_b", datetime(2024, 3, 2, 10, 0, tzinfo=UTC), erased, "subscribed"),
            ("req_c", datetime(2024, 3, 3, 8, 0, tzinfo=UTC), "ann@example.com", "unsubscribed"),
        ]
        for request_id, at, contact, status in requests:
            with write_transaction(con):
                insert_request(
                    con,
                    request_id=request_id,
                    space_id="space",
                    idempotency_key=None,
                    body_sha256="0" * 64,
                    accepted_at=at,
                    response="{}",
                )
                insert_entries(
                    con,
                    request_id,
                    at,
                    [
                        NewEntry(0, "email", contact, None, status),
                        NewEntry(1, "email", contact, "newsletter", status),
                    ],
                )
                record_request_evidence(con, request_id, {"client": "crm", "remote_addr": None})
        with write_transaction(con):
            # A hand-edited entry outside the vocabulary, and one the service suppressed.
            con.execute("UPDATE entries SET channel = 'push' WHERE seq = 2")
            at = datetime(2024, 3, 3, 8, 0, tzinfo=UTC)
            record_suppressed(con, "req_c", at, [(2, "email", 1)])
    finally:
        con.close()
