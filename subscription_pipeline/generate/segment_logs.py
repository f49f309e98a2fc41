"""Random Segment S3 logs: `segment-logs/<source-id>/<received-day ms>/<name>.gz`, NDJSON lines.

Each source's files are written in time order, chunk by chunk (bounded memory). About 1% of a
file's messages are delivered again in the source's next file (the same day or the next one),
as Segment's at-least-once delivery does: same messageId and content, a later receivedAt.
"""

from __future__ import annotations

import math
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from subscription_pipeline.generate.gzip_files import write_gzip_lines
from subscription_pipeline.generate.randomness import chunk_rng, hex_ids
from subscription_pipeline.generate.segment_messages import (
    kind_weights,
    render_lines,
    sample_messages,
)

DAY_MS = 86_400_000
CHUNK_LINES = 100_000
DUPLICATE_SHARE = 0.01
# Distinct random streams for the different uses of one seed.
_NAMES, _MESSAGES, _SOURCES = 1, 2, 3


def day_start_ms(day: date) -> int:
    """Epoch milliseconds of the UTC midnight starting `day` (the name of its log folder)."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1000


def source_ids(seed: int, sources: int) -> list[str]:
    """Segment-like source ids: 10 random letters and digits, fixed by the seed."""
    alphabet = np.array(list(string.ascii_letters + string.digits))
    rng = chunk_rng(seed, _SOURCES)
    return ["".join(alphabet[rng.integers(0, len(alphabet), 10)]) for _ in range(sources)]


@dataclass(frozen=True)
class LogFile:
    source_index: int
    source_id: str
    day_index: int
    file_index: int
    start_ms: int  # the file's receivedAt window [start_ms, end_ms)
    end_ms: int
    lines: int

    def path(self, out: Path, seed: int) -> Path:
        day_ms = self.start_ms - self.start_ms % DAY_MS
        rng = chunk_rng(seed, _NAMES, self.source_index, self.day_index, self.file_index)
        name = f"{self.start_ms}.{hex_ids(rng, 1, 4)[0]}.gz"
        return out / "segment-logs" / self.source_id / str(day_ms) / name


def plan_log_files(
    events: int, *, days: int, sources: int, files_per_day: int, start_day: date, seed: int
) -> list[LogFile]:
    """Every log file with its line count (events spread evenly), per source in time order."""
    ids = source_ids(seed, sources)
    slots = sources * days * files_per_day
    base, extra = divmod(events, slots)
    window = DAY_MS // files_per_day
    plan = []
    for s, source_id in enumerate(ids):
        for d in range(days):
            day_ms = day_start_ms(start_day) + d * DAY_MS
            for f in range(files_per_day):
                slot = (d * files_per_day + f) * sources + s
                start = day_ms + f * window
                end = day_ms + DAY_MS if f == files_per_day - 1 else start + window
                lines = base + (1 if slot < extra else 0)
                plan.append(LogFile(s, source_id, d, f, start, end, lines))
    return plan


@dataclass(frozen=True)
class MessageMix:
    """What kind of traffic: `subscription_share` None is the compact mix (short bodies, 45% of
    the messages can change a subscription); a fraction gives realistic bodies and that share."""

    subscription_share: float | None = None

    @property
    def weights(self) -> tuple[float, ...]:
        return kind_weights(self.subscription_share)

    @property
    def realistic(self) -> bool:
        return self.subscription_share is not None


def _file_text(
    log: LogFile,
    carry_in: pl.DataFrame,
    carry_out: list[pl.DataFrame],
    contacts: int,
    seed: int,
    mix: MessageMix,
) -> Iterator[str]:
    """The file's NDJSON text chunk by chunk; picks of re-delivered copies go to `carry_out`."""
    carry_in = carry_in.head(log.lines)
    fresh = log.lines - carry_in.height
    chunks = max(1, math.ceil(fresh / CHUNK_LINES))
    span = log.end_ms - log.start_ms
    for c in range(chunks):
        rng = chunk_rng(seed, _MESSAGES, log.source_index, log.day_index, log.file_index, c)
        lo = log.start_ms + span * c // chunks
        hi = log.start_ms + span * (c + 1) // chunks
        n = fresh * (c + 1) // chunks - fresh * c // chunks
        messages = sample_messages(rng, n, contacts, lo, hi, mix.weights)
        picked = (rng.random(n) < DUPLICATE_SHARE) & ~messages["broken"].to_numpy()
        carry_out.append(messages.filter(pl.Series(picked)))
        if c == 0 and carry_in.height:
            # Re-delivered copies arrive early in this file's window.
            redelivered = np.sort(rng.integers(lo, hi, carry_in.height))
            carry_in = carry_in.with_columns(received_ms=pl.Series(redelivered))
            messages = pl.concat([carry_in, messages]).sort("received_ms", maintain_order=True)
        lines = render_lines(messages, mix.realistic)
        if lines.len():
            yield "\n".join(lines.to_list()) + "\n"


@dataclass(frozen=True)
class LogStats:
    lines: int
    files: int
    days: int


def write_segment_logs(
    out: Path,
    *,
    events: int,
    contacts: int,
    days: int,
    seed: int,
    start_day: date,
    sources: int,
    files_per_day: int,
    mix: MessageMix | None = None,
) -> LogStats:
    mix = mix or MessageMix()
    plan = plan_log_files(
        events,
        days=days,
        sources=sources,
        files_per_day=files_per_day,
        start_day=start_day,
        seed=seed,
    )
    written: list[LogFile] = []
    carry = sample_messages(chunk_rng(seed), 0, contacts, 0, 1)
    for i, log in enumerate(plan):
        if log.lines:
            carry_out: list[pl.DataFrame] = []
            write_gzip_lines(
                log.path(out, seed), _file_text(log, carry, carry_out, contacts, seed, mix)
            )
            written.append(log)
            carry = pl.concat(carry_out)
        # else: no file; the copies wait for the source's next file.
        if i + 1 == len(plan) or plan[i + 1].source_index != log.source_index:
            # The source's last file has no next file: its picks are simply not re-delivered.
            carry = carry.head(0)
    return LogStats(
        lines=sum(log.lines for log in written),
        files=len(written),
        days=len({log.day_index for log in written}),
    )
