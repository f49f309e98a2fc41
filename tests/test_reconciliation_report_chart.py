"""The report's day-by-day series and chart, from a history the real resolution wrote."""

from __future__ import annotations

import struct
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from subscription_pipeline.reconciliation_report.chart import state_chart_png
from subscription_pipeline.reconciliation_report.daily_series import daily_opt_outs, daily_state
from subscription_pipeline.resolve.engine import resolve_all
from subscription_pipeline.warehouse.connection import connect
from tests.resolution_helpers import insert_observations, obs

ANN, BOB, PHONE = "ann@example.com", "bob@example.com", "+14155550101"
D1, D2, D3 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)

OBSERVATIONS = [
    # ann: subscribed and unsubscribed the same day (the evening counts), back on day 3.
    obs("csv", "email", ANN, "subscribed", datetime(2024, 3, 1, 9), ref="a.csv"),
    obs("csv", "email", ANN, "subscribed", datetime(2024, 3, 1, 9), group="news", ref="a.csv"),
    obs("event", "email", ANN, "unsubscribed", datetime(2024, 3, 1, 18), ref="evt-1"),
    obs("api", "email", ANN, "subscribed", datetime(2024, 3, 3, 10), ref="req-1"),
    obs("event", "email", BOB, "subscribed", datetime(2024, 3, 2, 8), ref="evt-2"),
    # the phone: subscribed, two STOPs on day 2, then a CSV opt-out that changes nothing
    # (ignored while locked) and a CSV resubscribe that is blocked.
    obs("csv", "sms", PHONE, "subscribed", datetime(2024, 3, 1, 9), ref="a.csv", row=2),
    obs("keyword", "sms", PHONE, "unsubscribed", datetime(2024, 3, 2, 10), ref="kw-1"),
    obs("keyword", "sms", PHONE, "unsubscribed", datetime(2024, 3, 2, 11), ref="kw-2"),
    obs("csv", "sms", PHONE, "unsubscribed", datetime(2024, 3, 2, 12), ref="b.csv"),
    obs("csv", "sms", PHONE, "subscribed", datetime(2024, 3, 3, 9), ref="c.csv"),
]


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path / "warehouse.duckdb", threads=1)
    insert_observations(con, OBSERVATIONS)
    resolve_all(con)
    yield con
    con.close()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_daily_state_is_each_days_closing_state_on_every_day(con) -> None:
    rows = daily_state(con).rows()
    assert rows == [
        (D1, "email", "subscribed", 0),
        (D2, "email", "subscribed", 1),
        (D3, "email", "subscribed", 2),
        (D1, "email", "unsubscribed", 1),
        (D2, "email", "unsubscribed", 1),
        (D3, "email", "unsubscribed", 0),
        (D1, "sms", "subscribed", 1),
        (D2, "sms", "subscribed", 0),
        (D3, "sms", "subscribed", 0),  # the blocked resubscribe changes nothing
        (D1, "sms", "unsubscribed", 0),
        (D2, "sms", "unsubscribed", 1),
        (D3, "sms", "unsubscribed", 1),  # a day carries the state of the day before
    ]


def test_last_day_of_the_series_equals_the_state_table(con) -> None:
    last = daily_state(con).filter(day=D3).select("channel", "status", "contacts").rows()
    counted = con.execute(
        "SELECT channel, status, count(*) FROM subscription_state "
        "WHERE subscription_group IS NULL AND status IN ('subscribed', 'unsubscribed') "
        "GROUP BY ALL"
    ).fetchall()
    assert {(c, s): n for c, s, n in last if n} == {(c, s): n for c, s, n in counted}


def test_opt_outs_are_applied_channel_unsubscribes_by_source(con) -> None:
    # Not counted: the cascade to ann's group, the CSV opt-out ignored while locked.
    assert daily_opt_outs(con).rows() == [(D1, "event", 1), (D2, "keyword", 2)]


def test_chart_has_a_panel_per_channel_and_one_of_opt_outs(con, tmp_path: Path) -> None:
    path = state_chart_png(con, tmp_path / "reports" / "state.png")
    assert png_size(path) == (800, 3 * 240)  # email, sms, opt-outs at 100 dpi
    assert [p.name for p in path.parent.iterdir()] == ["state.png"]


def test_chart_without_history(tmp_path: Path) -> None:
    con = connect(tmp_path / "warehouse.duckdb", threads=1)
    try:
        assert daily_state(con).is_empty() and daily_opt_outs(con).is_empty()
        assert png_size(state_chart_png(con, tmp_path / "state.png")) == (800, 240)
    finally:
        con.close()
