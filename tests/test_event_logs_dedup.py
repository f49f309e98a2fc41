"""Segment delivers at least once: one copy per messageId counts, across files and days."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from tests.log_files import (
    day_dir,
    entry,
    identify,
    ingest_day,
    ledger,
    write_log,
)


def effective(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.sql(
        "SELECT regexp_extract(source_file, '[^/]+$'), row_number, contact "
        "FROM effective_observations ORDER BY ALL"
    ).fetchall()


def split(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    return {name: (row["applied"], row["duplicate"]) for name, row in ledger(con).items()}


def test_duplicate_across_two_files_keeps_the_earliest_received(con, tmp_path: Path) -> None:
    late = identify("m1", [entry("a@example.com")], received_at="2024-03-15T10:00:09Z")
    early = identify("m1", [entry("a@example.com")], received_at="2024-03-15T10:00:01Z")
    write_log(tmp_path, "2024-03-15", "a.gz", [identify("m0", [entry("z@example.com")]), late])
    write_log(tmp_path, "2024-03-15", "b.gz", [early])

    ingest_day(con, tmp_path, "2024-03-15")

    assert effective(con) == [("a.gz", 1, "z@example.com"), ("b.gz", 1, "a@example.com")]
    # Every copy is stored; only the winner is effective.
    assert con.sql("SELECT count(*) FROM observations").fetchall() == [(3,)]
    assert split(con) == {"a.gz": (1, 1), "b.gz": (1, 0)}


def test_equal_received_at_falls_back_to_file_then_line(con, tmp_path: Path) -> None:
    copy = identify("m1", [entry("a@example.com")])
    write_log(tmp_path, "2024-03-15", "b.gz", [copy])
    write_log(tmp_path, "2024-03-15", "a.gz", [copy, copy])

    ingest_day(con, tmp_path, "2024-03-15")

    assert effective(con) == [("a.gz", 1, "a@example.com")]
    assert split(con) == {"a.gz": (1, 1), "b.gz": (0, 1)}


def test_duplicate_across_days_ingesting_the_later_day_first(con, tmp_path: Path) -> None:
    # The later day's copy diverged (another key) so its own vector is visible in the queue.
    first = identify("m1", [entry("a@example.com")], received_at="2024-03-15T23:59:59Z")
    redelivered = identify("m1", [entry("b@example.com")], received_at="2024-03-16T00:00:30Z")
    write_log(tmp_path, "2024-03-15", "d1.gz", [first])
    write_log(tmp_path, "2024-03-16", "d2.gz", [redelivered])

    ingest_day(con, tmp_path, "2024-03-16")
    assert effective(con) == [("d2.gz", 1, "b@example.com")]
    assert split(con) == {"d2.gz": (1, 0)}

    con.execute("DELETE FROM dirty_vectors")
    ingest_day(con, tmp_path, "2024-03-15")

    assert effective(con) == [("d1.gz", 1, "a@example.com")]
    assert split(con) == {"d1.gz": (1, 0), "d2.gz": (0, 1)}
    # The other day's observation lost its winner status: its vector is re-resolved.
    dirty = set(con.sql("SELECT channel, contact FROM dirty_vectors").fetchall())
    assert dirty == {("email", "a@example.com"), ("email", "b@example.com")}

    # Re-ingesting the earlier day without its copy gives the win back to the later day.
    (day_dir(tmp_path, "2024-03-15") / "d1.gz").unlink()
    ingest_day(con, tmp_path, "2024-03-15")
    assert effective(con) == [("d2.gz", 1, "b@example.com")]
    assert split(con) == {"d2.gz": (1, 0)}


def test_message_without_message_id_is_deduplicated_by_content(con, tmp_path: Path) -> None:
    message = identify(None, [entry("a@example.com")])
    other = identify(None, [entry("b@example.com")])
    write_log(tmp_path, "2024-03-15", "a.gz", [message, other])
    # The same content, written with other whitespace, in another file.
    write_log(
        tmp_path,
        "2024-03-15",
        "b.jsonl",
        [json.dumps(message, indent=None, separators=(" ,", " : "))],
    )

    ingest_day(con, tmp_path, "2024-03-15")

    assert effective(con) == [("a.gz", 1, "a@example.com"), ("a.gz", 2, "b@example.com")]
    assert split(con) == {"a.gz": (2, 0), "b.jsonl": (0, 1)}
    ids = con.sql("SELECT DISTINCT message_id FROM log_messages ORDER BY 1").fetchall()
    assert len(ids) == 2 and all(i.startswith("sha256:") for (i,) in ids)
