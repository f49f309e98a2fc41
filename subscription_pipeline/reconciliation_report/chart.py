"""A PNG of what an analyst asks of the history: the state over effective time, per channel,
and the opt-outs per day by source.

Drawn with matplotlib's object API on the Agg canvas: no pyplot, no global backend switch,
safe inside a Dagster run or a web server thread.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb
import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from subscription_pipeline.reconciliation_report.daily_series import (
    CHARTED_STATUSES,
    daily_opt_outs,
    daily_state,
)
from subscription_pipeline.vocabulary import CHANNELS, SOURCE_KINDS

# The same colour for a status, or a source, in every panel and every report.
STATUS_COLOURS = {"subscribed": "tab:green", "unsubscribed": "tab:red"}
SOURCE_COLOURS = {
    "event": "tab:blue",
    "csv": "tab:orange",
    "api": "tab:purple",
    "keyword": "tab:brown",
}
PANEL_HEIGHT = 2.4
# Past this many days a marker per day is clutter.
MARKERS_UP_TO_DAYS = 60


def state_chart_png(con: duckdb.DuckDBPyConnection, path: Path) -> Path:
    """One panel per channel (contacts subscribed / unsubscribed at the end of each day), then
    one of opt-outs per day stacked by source; one shared day axis. Written atomically."""
    state = daily_state(con)
    opt_outs = daily_opt_outs(con)
    present = set(state["channel"].to_list())
    channels = [c for c in CHANNELS if c in present]
    figure = Figure(figsize=(8, PANEL_HEIGHT * (len(channels) + 1)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(channels) + 1, 1, squeeze=False, sharex=True)[:, 0]
    if state.is_empty():
        axes[0].text(0.5, 0.5, "no history yet", ha="center", va="center")
        axes[0].set_axis_off()
        return _save_atomically(figure, Path(path))
    for ax, channel in zip(axes, channels, strict=False):
        _state_panel(ax, state.filter(pl.col("channel") == channel), channel)
    _opt_out_panel(axes[-1], opt_outs, state["day"].unique().sort())
    locator = AutoDateLocator()
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(ConciseDateFormatter(locator))
    return _save_atomically(figure, Path(path))


def _state_panel(ax: Axes, rows: pl.DataFrame, channel: str) -> None:
    for status in CHARTED_STATUSES:
        series = rows.filter(pl.col("status") == status).sort("day")
        ax.plot(
            series["day"].to_list(),
            series["contacts"].to_list(),
            marker="o" if series.height <= MARKERS_UP_TO_DAYS else None,
            color=STATUS_COLOURS[status],
            label=status,
        )
    ax.set_title(f"{channel}: contacts at the end of each day (effective time, UTC)")
    ax.set_ylabel("contacts")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)


def _opt_out_panel(ax: Axes, opt_outs: pl.DataFrame, days: pl.Series) -> None:
    """Stacked bars, one colour per source kind, on every day of the state panels' range."""
    grid = pl.DataFrame({"day": days})
    bottom = [0] * grid.height
    for source in SOURCE_KINDS:
        of_source = opt_outs.filter(pl.col("source") == source)
        counts = grid.join(of_source, on="day", how="left")["opt_outs"].fill_null(0)
        if counts.sum() == 0:
            continue
        ax.bar(
            days.to_list(),
            counts.to_list(),
            bottom=bottom,
            width=0.8,
            color=SOURCE_COLOURS[source],
            label=source,
        )
        bottom = [b + c for b, c in zip(bottom, counts.to_list(), strict=True)]
    ax.set_title("opt-outs applied per day, by source (channel level)")
    ax.set_ylabel("opt-outs")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if any(bottom):
        ax.legend(loc="upper left", fontsize="small")
    else:
        ax.text(0.5, 0.5, "no opt-outs", ha="center", va="center", transform=ax.transAxes)
    ax.grid(alpha=0.3, axis="y")


def _save_atomically(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        figure.savefig(temporary, format="png", dpi=100)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
