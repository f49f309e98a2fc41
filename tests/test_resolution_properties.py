"""The SQL engine against the reference fold on random histories, full and incremental."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subscription_pipeline.ingest.store import clear_partition
from subscription_pipeline.resolve import engine
from subscription_pipeline.resolve.engine import resolve_all, resolve_pending
from subscription_pipeline.warehouse.connection import connect
from tests.hypothesis_profiles import examples
from tests.reference_fold import fold
from tests.resolution_helpers import (
    HISTORY_COLUMNS,
    STATE_COLUMNS,
    as_tuples,
    insert_observations,
    obs,
    read_tuples,
)

# Few values of everything, so that equal times and shared sources are frequent.
TIMES = [datetime(2024, 1, 1, 9), datetime(2024, 1, 1, 10), datetime(2024, 1, 2, 9)]
CONTACTS = {
    "email": ["ann@example.com", "bob@example.com"],
    "sms": ["+14155550101", "+14155550102"],
    "whatsapp": ["+14155550101"],
}
STATUSES = [None, "subscribed", "unsubscribed", "did_not_subscribe", "did_not_subscribe"]
SOURCES = {
    "csv": ["a.csv", "b.csv"],
    "event": ["evt-1", "evt-2", "evt-3"],
    "keyword": ["kw-1", "kw-2"],
    "api": ["req-1", "req-2"],
}
# Each example opens its own DuckDB file; the incremental one resolves several times.
FULL_SETTINGS = settings(
    max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
INCREMENTAL_SETTINGS = settings(
    max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def observations(draw: st.DrawFn, focus: str) -> dict[str, Any]:
    # Keywords only on phone channels, groups only on email, as ingestion produces them.
    kinds = ["csv", "csv", "event", "event", "api"]
    if focus != "email":
        kinds += ["keyword", "keyword"]
    kind = draw(st.sampled_from(kinds))
    channels = {"email": ["email"], "phone": ["sms", "whatsapp"]}.get(focus, list(CONTACTS))
    if kind == "keyword":
        channels = ["sms", "whatsapp"]
    channel = draw(st.sampled_from(channels))
    group = None
    if channel == "email":
        group = draw(st.sampled_from([None, None, "news", "promo"]))
    statuses = ["subscribed", "unsubscribed"] if kind == "keyword" else STATUSES
    ref = draw(st.sampled_from(SOURCES[kind]))
    row = draw(st.integers(1, 3))
    return obs(
        kind,
        channel,
        draw(st.sampled_from(CONTACTS[channel])),
        draw(st.sampled_from(statuses)),
        draw(st.sampled_from(TIMES)),
        group=group,
        ref=ref,
        row=row,
        user_id=draw(st.sampled_from([None, None, "u1", "u2"])),
        evidence=_evidence(kind, ref, row),
    )


def _evidence(kind: str, ref: str, row: int) -> str | None:
    """Evidence belongs to a record (a CSV row, a message, a request), as ingestion stores it;
    some records have none. The history must show it and the engine never decide by it."""
    if kind != "csv":
        row = 0  # a message's or a request's record is its ref alone
    if (len(ref) + row) % 3 == 0:
        return None
    return json.dumps({"ip": f"203.0.113.{row}", "ref": ref, "kind": kind})


def histories(focus: str) -> st.SearchStrategy[list[dict[str, Any]]]:
    """A few vectors of one family, so that locks, groups and cascades interact often."""
    return st.lists(observations(focus), min_size=1, max_size=30)


FOCUSES = ["email", "phone", "mixed"]


def _assert_matches_fold(con, rows: list[dict[str, Any]]) -> None:
    state, history = fold(rows)
    assert read_tuples(con, "subscription_state", STATE_COLUMNS) == as_tuples(state, STATE_COLUMNS)
    assert read_tuples(con, "subscription_history", HISTORY_COLUMNS) == as_tuples(
        history, HISTORY_COLUMNS
    )


# The mixed histories run in the fast subset; the single-family ones (denser locks, cascades) are
# slow, as are the incremental and bucketed properties below.
@pytest.mark.parametrize(
    "focus",
    [pytest.param(f, marks=pytest.mark.slow) if f != "mixed" else f for f in FOCUSES],
)
@FULL_SETTINGS
@given(data=st.data())
def test_full_rebuild_equals_reference_fold(focus: str, data: st.DataObject) -> None:
    rows = data.draw(histories(focus), label="observations")
    with tempfile.TemporaryDirectory() as tmp:
        con = connect(Path(tmp) / "warehouse.duckdb", threads=1)
        insert_observations(con, rows)
        summary = resolve_all(con)
        _assert_matches_fold(con, rows)
        assert summary.full
        assert con.execute("SELECT count(*) FROM dirty_vectors").fetchone() == (0,)
        con.close()


# Slow: several resolutions per example. The full-rebuild property above stays in the fast subset.
@pytest.mark.slow
@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_bucketed_full_rebuild_equals_reference_fold(data: st.DataObject) -> None:
    """A rebuild in hash buckets of vectors (as at 50M events) writes the fold's tables too."""
    rows = data.draw(histories("mixed"), label="observations")
    buckets = data.draw(st.integers(min_value=2, max_value=5), label="buckets")
    with tempfile.TemporaryDirectory() as tmp:
        con = connect(Path(tmp) / "warehouse.duckdb", threads=1)
        insert_observations(con, rows)
        per_bucket = -(-len(rows) // buckets)  # ceil: `buckets` passes
        with patch.object(engine, "REBUILD_BUCKET_OBSERVATIONS", per_bucket):
            summary = resolve_all(con)
        _assert_matches_fold(con, rows)
        state_rows, history_rows = (
            con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("subscription_state", "subscription_history")
        )
        assert (summary.state_rows, summary.history_rows) == (state_rows, history_rows)
        assert con.execute("SELECT count(*) FROM dirty_vectors").fetchone() == (0,)
        con.close()


@pytest.mark.slow
@pytest.mark.parametrize("focus", FOCUSES)
@INCREMENTAL_SETTINGS
@given(data=st.data())
def test_incremental_batches_equal_full_rebuild(focus: str, data: st.DataObject) -> None:
    """Random batches in random order (older observations arriving later), each followed by
    resolve_pending, end in the tables of one full rebuild and of the reference fold."""
    rows = data.draw(histories(focus), label="observations")
    # A batch is a set of whole records: ingestion stores every observation of a CSV row, a log
    # line or a request in the same partition, never some now and the rest later.
    records = sorted({_record(r) for r in rows}, key=repr)
    batch_of_record = dict(
        zip(
            records,
            data.draw(
                st.lists(st.integers(0, 2), min_size=len(records), max_size=len(records)),
                label="batches",
            ),
            strict=True,
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        con = connect(Path(tmp) / "warehouse.duckdb", threads=1)
        for batch in range(3):
            insert_observations(con, [r for r in rows if batch_of_record[_record(r)] == batch])
            resolve_pending(con)
        _assert_matches_fold(con, rows)
        incremental = _tables(con)
        resolve_all(con)
        assert _tables(con) == incremental

        # An upload withdrawn (its partition cleared) is resolved away incrementally too.
        con.execute("BEGIN")
        clear_partition(con, "csv", "a.csv")
        con.execute("COMMIT")
        resolve_pending(con)
        _assert_matches_fold(con, [r for r in rows if r["partition_key"] != "a.csv"])
        con.close()


def _record(row: dict[str, Any]) -> tuple:
    """The input record an observation came from."""
    keys = ("source_kind", "source_file", "row_number", "message_id", "source")
    return tuple(row.get(k) for k in keys)


def _tables(con) -> tuple[list[tuple], list[tuple]]:
    return (
        read_tuples(con, "subscription_state", STATE_COLUMNS),
        read_tuples(con, "subscription_history", HISTORY_COLUMNS),
    )
