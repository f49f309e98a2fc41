"""Property: whatever the upload, every data row is applied or rejected, never lost or doubled."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.csv_files import csv_text, ingest, open_warehouse, write_upload
from tests.hypothesis_profiles import examples

COLUMNS = {
    "email": ["", "a@example.com", " B@Example.com ", "nope", "x@"],
    "phone": ["", "+16502530000", "(650) 253-0001", "12", "phone"],
    "user_id": ["", "u1"],
    "email_subscription_status": ["", "true", "FALSE", "did-not-subscribe", "maybe"],
    "sms_subscription_status": ["", "subscribed", "unsubscribed", "stop"],
    "whatsapp_subscription_status": ["", "Subscribed", "no"],
    "news_subscription_status": ["", "subscribed", "never"],
}
_counter = itertools.count()


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """One warehouse per test: every hypothesis example uses it, each with its own upload."""
    con = open_warehouse(tmp_path)
    yield con
    con.close()


@st.composite
def uploads(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    header = draw(st.lists(st.sampled_from(list(COLUMNS)), min_size=1, unique=True))
    rows = draw(
        st.lists(
            st.tuples(*(st.sampled_from(COLUMNS[name]) for name in header)).map(list),
            min_size=0,
            max_size=12,
        )
    )
    return header, rows


def _check_accounting(con: duckdb.DuckDBPyConnection, tmp_path: Path, content: str | bytes) -> None:
    name = f"u{next(_counter)}.csv"
    write_upload(tmp_path, name, content)
    entry = ingest(con, tmp_path, name)
    assert entry.balanced
    assert entry.ignored == entry.duplicate == 0
    observed = con.execute(
        "SELECT count(DISTINCT row_number) FROM observations WHERE partition_key = ?", [name]
    ).fetchall()[0][0]
    assert observed == entry.applied
    unobserved_without_reason = con.execute(
        """
        SELECT count(*) FROM range(1, ? + 1) r(row_number)
        WHERE row_number NOT IN (SELECT row_number FROM observations WHERE partition_key = ?)
          AND row_number NOT IN (
              SELECT row_number FROM rejections
              WHERE partition_key = ? AND row_number IS NOT NULL)
        """,
        [entry.rows_in if entry.status == "ingested" else 0, name, name],
    ).fetchall()[0][0]
    assert unobserved_without_reason == 0
    if entry.status == "rejected":
        assert observed == 0


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(upload=uploads())
def test_generated_uploads_balance(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path, upload: tuple[list[str], list[list[str]]]
) -> None:
    header, rows = upload
    _check_accounting(warehouse, tmp_path, csv_text(header, rows))


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=st.text(alphabet='email,phone_subscriptus\n\r"@ 1x', max_size=120))
def test_arbitrary_text_balances(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path, content: str
) -> None:
    _check_accounting(warehouse, tmp_path, content)
