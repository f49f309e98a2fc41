"""Random Engage CSV uploads: `uploads/<YYYYMMDDTHHMMSSZ>_<name>.csv`, written chunk by chunk.

Each upload uses one column layout; values are spelled the way people fill spreadsheets
(varied case, stray spaces, true/false, blanks) with a few bad rows. Some files carry a BOM,
some CRLF line ends, some quote every field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from subscription_pipeline.generate import contacts as pool
from subscription_pipeline.generate.randomness import choose, chunk_rng

CHUNK_ROWS = 200_000
_ROWS = 4  # random stream id (see segment_logs for the others)

LAYOUTS: tuple[tuple[str, ...], ...] = (
    ("email", "user_id", "email_subscription_status", "newsletter_subscription_status")
    + ("promotions_subscription_status",),
    ("phone", "sms_subscription_status", "whatsapp_subscription_status"),
    ("email", "phone", "user_id", "email_subscription_status", "sms_subscription_status")
    + ("product_updates_subscription_status",),
    ("user_id", "email", "phone", "email_subscription_status", "sms_subscription_status")
    + ("whatsapp_subscription_status", "newsletter_subscription_status"),
)
NAMES = ("crm-export", "trade-show", "sms-optins", "newsletter-signups", "legacy-import")
NAMES += ("partner-list",)

# Spellings of each status as found in real spreadsheets; None is a blank cell.
STATUS_SPELLINGS = ("subscribed", "Subscribed", " SUBSCRIBED ", "true", "TRUE")
STATUS_SPELLINGS += ("unsubscribed", "Unsubscribed ", "false", "False")
STATUS_SPELLINGS += ("did_not_subscribe", "did-not-subscribe", "DID_NOT_SUBSCRIBE")
_SPELLING_WEIGHTS = (0.2, 0.06, 0.04, 0.06, 0.02, 0.12, 0.04, 0.04, 0.02, 0.05, 0.03, 0.02)
CHANNEL_BLANK_SHARE = 0.2
GROUP_BLANK_SHARE = 0.5
BAD_STATUSES = ("yes please", "opt-in", "2", "unknown")

BAD_EMAIL_SHARE = 0.003
BAD_PHONE_SHARE = 0.003
BAD_STATUS_SHARE = 0.003
MISSING_IDENTIFIER_SHARE = 0.002


@dataclass(frozen=True)
class Upload:
    index: int
    name: str  # file name, `<YYYYMMDDTHHMMSSZ>_<name>.csv`
    columns: tuple[str, ...]
    rows: int
    bom: bool
    crlf: bool
    quote_all: bool


def plan_uploads(uploads: int, rows: int, *, days: int, start_day: date) -> list[Upload]:
    """Uploads spread evenly over the days, rows split evenly, layouts and encodings rotating."""
    start = datetime(start_day.year, start_day.month, start_day.day, tzinfo=UTC)
    base, extra = divmod(rows, uploads) if uploads else (0, 0)
    plan = []
    for k in range(uploads):
        # Mid-slot, rounded to the minute: uploads happen during the day, not at midnight.
        offset = timedelta(seconds=(2 * k + 1) * days * 86_400 // (2 * uploads) // 60 * 60)
        label = NAMES[k % len(NAMES)] + (f"-{k // len(NAMES) + 1}" if k >= len(NAMES) else "")
        name = f"{start + offset:%Y%m%dT%H%M%SZ}_{label}.csv"
        plan.append(
            Upload(
                index=k,
                name=name,
                columns=LAYOUTS[k % len(LAYOUTS)],
                rows=base + (1 if k < extra else 0),
                bom=k % 3 == 1,
                crlf=k % 2 == 1,
                quote_all=k % 4 == 3,
            )
        )
    return plan


def _status_column(rng: np.random.Generator, n: int, blank_share: float) -> pl.Series:
    values = choose(rng, n, STATUS_SPELLINGS, _SPELLING_WEIGHTS)
    values, _ = pool.replace_some(values, rng, BAD_STATUS_SHARE, BAD_STATUSES)
    blank = pl.Series(rng.random(n) < blank_share)
    return pl.select(pl.when(~blank).then(values)).to_series()


def sample_rows(
    rng: np.random.Generator, n: int, contacts: int, columns: tuple[str, ...]
) -> pl.DataFrame:
    """`n` random rows with the given columns (blank cells are nulls)."""
    who = rng.integers(0, max(contacts, 1), n)
    missing = pl.Series(rng.random(n) < MISSING_IDENTIFIER_SHARE)
    data: dict[str, pl.Series] = {}
    for column in columns:
        if column == "email":
            values, _ = pool.replace_some(
                pool.raw_emails(who, rng), rng, BAD_EMAIL_SHARE, pool.INVALID_EMAILS
            )
            values = pl.select(pl.when(~missing).then(values)).to_series()
        elif column == "phone":
            values, _ = pool.replace_some(
                pool.raw_phones(who, rng), rng, BAD_PHONE_SHARE, pool.INVALID_PHONES
            )
            values = pl.select(pl.when(~missing).then(values)).to_series()
        elif column == "user_id":
            values = pl.select(pl.when(pl.Series(rng.random(n) < 0.7)).then(pool.user_ids(who)))
            values = values.to_series()
        else:
            channel = column.removesuffix("_subscription_status")
            group = channel not in ("email", "sms", "whatsapp")
            values = _status_column(rng, n, GROUP_BLANK_SHARE if group else CHANNEL_BLANK_SHARE)
        data[column] = values.alias(column)
    return pl.DataFrame(data)


def write_upload(path: Path, upload: Upload, *, contacts: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    chunks = max(1, math.ceil(upload.rows / CHUNK_ROWS))
    with path.open("wb") as f:
        for c in range(chunks):
            n = upload.rows * (c + 1) // chunks - upload.rows * c // chunks
            rows = sample_rows(chunk_rng(seed, _ROWS, upload.index, c), n, contacts, upload.columns)
            rows.write_csv(
                f,
                include_header=c == 0,
                include_bom=upload.bom and c == 0,
                line_terminator="\r\n" if upload.crlf else "\n",
                quote_style="always" if upload.quote_all else "necessary",
            )


def write_uploads(
    out: Path, *, uploads: int, rows: int, contacts: int, days: int, seed: int, start_day: date
) -> list[Upload]:
    plan = plan_uploads(uploads, rows, days=days, start_day=start_day)
    for upload in plan:
        write_upload(out / "uploads" / upload.name, upload, contacts=contacts, seed=seed)
    return plan
