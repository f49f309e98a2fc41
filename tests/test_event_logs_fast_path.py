"""DuckDB's fast path against Python's slow path, and the raw-text filter that spares parsing."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subscription_pipeline.ingest import log_stage
from subscription_pipeline.ingest.event_logs import ingest_log_day
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.warehouse.connection import connect
from tests.hypothesis_profiles import examples
from tests.log_files import (
    DAY,
    assert_balanced,
    day_dir,
    entry,
    identify,
    inbound,
    write_log,
)

PAGE = {
    "type": "page",
    "messageId": "p1",
    "receivedAt": "2024-03-15T10:00:05Z",
    "context": {"page": {"path": "/pricing"}},
}

# Every kind of line a file can hold, in one file: the fast path must stage it as Python does.
MIXED_LINES: list[dict | str] = [
    identify("m1", [entry("a@example.com", status="unsubscribed")]),
    PAGE,
    "",
    "   ",
    '{"type": "identify", "messageId": "cut", "context": {"messaging_subscr',
    '{"type": "page", "messageId": "cut-page"',
    "[1, 2, 3]",
    '"just a string"',
    identify("m2", [entry("not-an-email"), entry("+14155550101", "SMS")]),
    inbound("k1", "+14155550102", " stop "),
    inbound("k2", "+14155550103", "where is my order?"),
    {**PAGE, "messageId": "p2", "properties": {"title": "caf\u00e9"}},
    identify("m3", [entry("b@example.com", groups="newsletter")]),
    identify("m4", {"key": "c@example.com", "type": "EMAIL", "status": "SUBSCRIBED"}),
    {**PAGE, "messageId": "p3"},
]


def _outcome(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """Everything a day's ingest records, without the time it ran."""
    return {
        "ledger": con.sql(
            "SELECT source_file, status, rows_in, applied, ignored, duplicate, rejected, "
            "warnings, error_code FROM input_ledger ORDER BY source_file"
        ).fetchall(),
        "rejections": con.sql(
            "SELECT source_file, row_number, error_code, error_message, raw_record "
            "FROM rejections ORDER BY ALL"
        ).fetchall(),
        "observations": con.sql(
            "SELECT * EXCLUDE (partition_key) FROM observations ORDER BY ALL"
        ).fetchall(),
        "warnings": con.sql("SELECT * FROM ingest_warnings ORDER BY ALL").fetchall(),
        "messages": con.sql("SELECT * FROM log_messages ORDER BY ALL").fetchall(),
    }


def _ingest_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> tuple[dict, dict]:
    fast = connect(tmp_path / "fast.duckdb")
    try:
        ingest_log_day(fast, data_dir, DAY, IngestSettings())
        assert_balanced(fast)
        fast_outcome = _outcome(fast)
    finally:
        fast.close()
    # The slow path alone: DuckDB "refuses" every file.
    monkeypatch.setattr(log_stage, "_stage_fast", lambda con, data_dir, files, table: list(files))
    slow = connect(tmp_path / "slow.duckdb")
    try:
        ingest_log_day(slow, data_dir, DAY, IngestSettings())
        assert_balanced(slow)
        slow_outcome = _outcome(slow)
    finally:
        slow.close()
    return fast_outcome, slow_outcome


def _staged(con: duckdb.DuckDBPyConnection, data_dir: Path, files: list[str], fast: bool):
    log_stage.create_stage(con)
    staged = log_stage.stage_files(con, data_dir, files, fast=fast)
    rows = con.sql(f"SELECT * FROM {log_stage.STAGE_TABLE} ORDER BY ALL").fetchall()
    return staged, rows


def test_fast_and_slow_paths_stage_the_same_lines(con, tmp_path: Path) -> None:
    data = tmp_path / "data"
    files = [
        write_log(data, DAY, "mixed.gz", MIXED_LINES),
        write_log(data, DAY, "plain.jsonl", MIXED_LINES[:6]),
        write_log(data, DAY, "empty.gz", []),
    ]
    # A file whose last line has no newline, and one made of a single newline.
    folder = day_dir(data, DAY)
    (folder / "no-eol.gz").write_bytes(gzip.compress(json.dumps(PAGE).encode() + b"\n{"))
    (folder / "newline.gz").write_bytes(gzip.compress(b"\n"))
    files += [f"{files[0].rsplit('/', 1)[0]}/{name}" for name in ("no-eol.gz", "newline.gz")]

    fast_files, fast_rows = _staged(con, data, files, fast=True)
    slow_files, slow_rows = _staged(con, data, files, fast=False)

    assert [f.read_by for f in fast_files] == ["duckdb"] * len(files)
    assert [f.read_by for f in slow_files] == ["python"] * len(files)
    assert fast_rows == slow_rows
    # Only the lines that can matter or must be rejected keep their text; the page views and
    # blank lines do not (the last line of each file stays, for the count).
    mixed = [row for row in fast_rows if row[0] == files[0]]
    assert [row[1] for row in mixed if row[4]] == [1, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    assert mixed[-1][1:] == (15, None, False, False)


def test_a_day_with_broken_lines_gives_the_same_record_either_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    write_log(data, DAY, "mixed.gz", MIXED_LINES)
    write_log(data, DAY, "z-again.gz", [MIXED_LINES[0], MIXED_LINES[9], PAGE])

    fast, slow = _ingest_both_ways(tmp_path, monkeypatch, data)

    assert fast == slow
    rejected = [(Path(f).name, n, code) for f, n, code, _, _ in fast["rejections"]]
    assert rejected == [
        ("mixed.gz", 5, "INVALID_JSON"),
        ("mixed.gz", 6, "INVALID_JSON"),
        ("mixed.gz", 7, "INVALID_JSON"),
        ("mixed.gz", 8, "INVALID_JSON"),
        ("mixed.gz", 9, "INVALID_EMAIL"),
        ("mixed.gz", 13, "INVALID_SUBSCRIPTIONS"),
        ("mixed.gz", 14, "INVALID_SUBSCRIPTIONS"),
    ]
    counts = {Path(row[0]).name: row[2:7] for row in fast["ledger"]}
    # rows_in, applied, ignored, duplicate, rejected
    assert counts["mixed.gz"] == (15, 3, 6, 0, 6)
    assert counts["z-again.gz"] == (3, 0, 1, 2, 0)


def test_files_duckdb_refuses_are_read_by_python_exactly(con, tmp_path: Path) -> None:
    data = tmp_path / "data"
    folder = day_dir(data, DAY)

    def good(message_id: str) -> bytes:
        return json.dumps(identify(message_id, [entry("a@example.com")])).encode()

    bad_utf8 = good("u1") + b"\n" + b'{"type":"page","x":"\xff"}\n' + good("u2") + b"\n"
    (folder / "bad-utf8.gz").write_bytes(gzip.compress(bad_utf8))
    (folder / "crlf.gz").write_bytes(gzip.compress(good("r1") + b"\r\n" + good("r1") + b"\r\n"))
    cut = good("c1")
    (folder / "cr-inside.gz").write_bytes(gzip.compress(cut[:10] + b"\r" + cut[10:] + b"\n"))
    (folder / "truncated.gz").write_bytes(gzip.compress(good("t1") * 2000 + b"\n")[:-20])
    write_log(data, DAY, "clean.gz", [identify("k1", [entry("c@example.com")])])

    entries = {
        Path(e.source_file).name: e for e in ingest_log_day(con, data, DAY, IngestSettings())
    }

    assert_balanced(con)
    assert (entries["bad-utf8.gz"].rows_in, entries["bad-utf8.gz"].rejected) == (3, 1)
    assert con.sql(
        "SELECT row_number, error_code, error_message FROM rejections "
        "WHERE source_file LIKE '%bad-utf8.gz'"
    ).fetchall() == [(2, "INVALID_JSON", "line is not valid UTF-8")]
    assert (entries["crlf.gz"].rows_in, entries["crlf.gz"].applied) == (2, 1)
    assert entries["crlf.gz"].duplicate == 1
    # A CR inside a line is part of the line, as Python splits on LF only.
    assert (entries["cr-inside.gz"].rows_in, entries["cr-inside.gz"].status) == (1, "ingested")
    assert (entries["truncated.gz"].status, entries["truncated.gz"].error_code) == (
        "rejected",
        "CORRUPT_FILE",
    )
    assert entries["clean.gz"].applied == 1


def test_which_path_read_each_file(con, tmp_path: Path) -> None:
    data = tmp_path / "data"
    folder = day_dir(data, DAY)
    clean = write_log(data, DAY, "clean.gz", [PAGE])
    (folder / "bad.gz").write_bytes(gzip.compress(b'{"a":"\xff"}\n'))
    (folder / "corrupt.gz").write_bytes(b"not gzip at all")
    files = sorted([clean, clean.replace("clean", "bad"), clean.replace("clean", "corrupt")])

    log_stage.create_stage(con)
    staged = {Path(f.source_file).name: f for f in log_stage.stage_files(con, data, files)}

    assert staged["clean.gz"].read_by == "duckdb"
    assert staged["bad.gz"].read_by == "python"
    assert staged["corrupt.gz"].error_code == "CORRUPT_FILE"


def test_lines_that_cannot_matter_are_counted_not_parsed(con, tmp_path: Path) -> None:
    escaped = json.dumps(identify("e1", [entry("d@example.com", status="UNSUBSCRIBED")]))
    escaped = escaped.replace("messaging_subscriptions", "messaging_\\u0073ubscriptions")
    write_log(tmp_path, DAY, "a.gz", [PAGE, {**PAGE, "messageId": "p9"}, escaped])

    [row] = ingest_log_day(con, tmp_path, DAY, IngestSettings())

    assert (row.rows_in, row.applied, row.ignored, row.rejected) == (3, 1, 2, 0)
    # A key spelled with a \u escape still counts (the filter keeps any line with one).
    assert con.sql("SELECT contact, status FROM observations").fetchall() == [
        ("d@example.com", "unsubscribed")
    ]
    # Only the parsed line's messageId is recorded for de-duplication.
    assert con.sql("SELECT message_id FROM log_messages").fetchall() == [("e1",)]


def test_a_duplicate_of_an_ignored_line_stays_ignored(con, tmp_path: Path) -> None:
    write_log(tmp_path, DAY, "a.gz", [PAGE])
    write_log(tmp_path, DAY, "b.gz", [PAGE])

    entries = ingest_log_day(con, tmp_path, DAY, IngestSettings())

    assert [(e.rows_in, e.ignored, e.duplicate) for e in entries] == [(1, 1, 0), (1, 1, 0)]


# The filter as the contract states it: a line is parsed if its text can matter, or if it is
# neither blank nor a JSON object (to be rejected). The macro orders these tests for speed.
_KEEP_AS_STATED = r"""
contains(line, 'messaging_subscriptions') OR contains(line, 'SMS Received')
OR contains(line, 'WhatsApp Message Received') OR contains(line, '\u')
OR (
    NOT CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT' ELSE false END
    AND NOT regexp_full_match(line, '\s*')
)
"""
_JSON_TEXT = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
).map(json.dumps)
_LINE = st.one_of(
    st.builds(
        lambda pad, text, end: pad + text + end,
        st.sampled_from(["", " ", "\t", " \t "]),
        _JSON_TEXT,
        st.sampled_from(["", " ", "\t", "}", ","]),
    ),
    st.text(alphabet='{}[]":, \t\fa1\\u', max_size=12),
)


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(_LINE, min_size=1, max_size=20))
def test_the_raw_text_filter_keeps_exactly_the_lines_the_contract_names(lines: list[str]) -> None:
    con = duckdb.connect()
    log_stage.create_stage(con)
    keep = con.execute(
        "SELECT list(_log_keep(line) ORDER BY i) FROM (SELECT unnest(?) AS line, "
        "generate_subscripts(?, 1) AS i)",
        [lines, lines],
    ).fetchone()[0]
    stated = con.execute(
        f"SELECT list(({_KEEP_AS_STATED}) ORDER BY i) FROM (SELECT unnest(?) AS line, "
        "generate_subscripts(?, 1) AS i)",
        [lines, lines],
    ).fetchone()[0]
    assert keep == stated
