"""A PNG of the channel-level state counts over the recorded runs.

Drawn with matplotlib's object API on the Agg canvas: no pyplot, no global backend switch,
safe inside a Dagster run or a web server thread.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from subscription_pipeline.report.snapshots import snapshot_history
from subscription_pipeline.vocabulary import CHANNELS, STATUSES

NO_STATUS = "(no status)"
# The same colour for a status in every panel and every report.
COLOURS = {
    "subscribed": "tab:green",
    "unsubscribed": "tab:red",
    "did_not_subscribe": "tab:orange",
    NO_STATUS: "tab:gray",
}


def state_chart_png(con: duckdb.DuckDBPyConnection, path: Path) -> Path:
    """One panel per channel, one line per status, contacts per snapshot; written atomically."""
    grid = _counts_grid(snapshot_history(con))
    channels = [c for c in CHANNELS if c in set(grid["channel"].to_list())] or ["state"]
    figure = Figure(figsize=(8, 2.6 * len(channels)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(channels), 1, squeeze=False)[:, 0]
    for ax, channel in zip(axes, channels, strict=True):
        rows = grid.filter(pl.col("channel") == channel).sort("run_at")
        if rows.is_empty():
            ax.text(0.5, 0.5, "no snapshots recorded yet", ha="center", va="center")
            ax.set_axis_off()
            continue
        for status in [s for s in (*STATUSES, NO_STATUS) if s in rows.columns]:
            ax.plot(rows["run_at"].to_list(), rows[status].to_list(), marker="o", label=status)
            ax.lines[-1].set_color(COLOURS[status])
        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(channel)
        ax.set_ylabel("contacts")
        ax.legend(loc="upper left", fontsize="small")
        ax.grid(alpha=0.3)
    return _save_atomically(figure, Path(path))


def _counts_grid(history: pl.DataFrame) -> pl.DataFrame:
    """run_at, channel, one column per status: a status absent from a run counts 0 there."""
    if history.is_empty():
        return pl.DataFrame(schema={"run_at": pl.Datetime("us"), "channel": pl.String})
    labelled = history.with_columns(pl.col("status").fill_null(NO_STATUS))
    runs = labelled.select("run_at").unique()
    channels = labelled.select("channel").unique()
    wide = labelled.pivot(on="status", index=["run_at", "channel"], values="contacts")
    return (
        runs.join(channels, how="cross")
        .join(wide, on=["run_at", "channel"], how="left")
        .fill_null(0)
    )


def _save_atomically(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        figure.savefig(temporary, format="png", dpi=100)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
