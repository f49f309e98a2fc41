"""Reading the next day ahead (log_prefetch.py) stores exactly what one day at a time stores."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from subscription_pipeline.ingest import log_prefetch
from subscription_pipeline.ingest.event_logs import ingest_log_day, list_log_days
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.warehouse.connection import connect
from tests.log_files import assert_balanced, day_dir, entry, identify, inbound, write_log
from tests.test_event_logs_fast_path import MIXED_LINES, _outcome

DAYS = ["2024-03-15", "2024-03-16", "2024-03-17", "2024-03-18"]


def _landing_zone(data: Path) -> None:
    """Mixed lines, a message repeated across days, files only Python reads, a corrupt file and
    a day folder without files."""
    write_log(data, DAYS[0], "mixed.gz", MIXED_LINES)
    write_log(
        data,
        DAYS[1],
        "again.gz",
        [
            identify("m1", [entry("a@example.com", status="subscribed")]),
            inbound("k9", "+14155550102", "START"),
        ],
    )
    good = json.dumps(identify("u1", [entry("d@example.com")])).encode()
    folder = day_dir(data, DAYS[1])
    (folder / "bad-utf8.gz").write_bytes(gzip.compress(good + b"\n" + b'{"x":"\xff"}\n'))
    (folder / "corrupt.gz").write_bytes(b"not gzip at all")
    day_dir(data, DAYS[2])
    write_log(data, DAYS[3], "late.gz", [identify("m4", [entry("c@example.com")])])


def test_days_read_ahead_store_what_days_in_turn_store(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _landing_zone(data)
    days = list_log_days(data)
    assert days == DAYS

    in_turn = connect(tmp_path / "in_turn.duckdb")
    for day in days:
        if day != DAYS[2]:
            ingest_log_day(in_turn, data, day, IngestSettings())
    expected = _outcome(in_turn)
    in_turn.close()

    ahead = connect(tmp_path / "ahead.duckdb")
    results = dict(log_prefetch.ingest_log_days(ahead, data, days, IngestSettings()))
    assert_balanced(ahead)
    assert _outcome(ahead) == expected
    assert results[DAYS[2]] is None
    assert {Path(e.source_file).name for e in results[DAYS[1]]} == {
        "again.gz",
        "bad-utf8.gz",
        "corrupt.gz",
    }
    # Nothing read ahead is left behind in the attached database.
    assert ahead.sql(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ?",
        params=[log_prefetch.PREFETCH_DATABASE],
    ).fetchall() == [(0,)]
    ahead.close()


def test_an_error_while_storing_leaves_nothing_read_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    _landing_zone(data)
    con = connect(tmp_path / "warehouse.duckdb")

    def fail(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(log_prefetch, "ingest_log_day", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        list(log_prefetch.ingest_log_days(con, data, DAYS, IngestSettings()))
    assert con.sql(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ?",
        params=[log_prefetch.PREFETCH_DATABASE],
    ).fetchall() == [(0,)]
    assert con.sql("SELECT count(*) FROM observations").fetchall() == [(0,)]
    con.close()
