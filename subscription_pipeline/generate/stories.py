"""Hand-written story scenarios for the committed sample, on top of the random mix.

Each story uses its own contacts (area code 720, domain example.org; the random pool uses
neither), so its outcome does not depend on the random traffic. data/README.md says which
contact shows what; SCENARIOS below is the same list, for tests and tools.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from subscription_pipeline.generate.gzip_files import gzip_bytes, write_gzip_lines
from subscription_pipeline.generate.segment_logs import DAY_MS, day_start_ms

STORY_DAYS = 5  # the stories span received days D0..D4


@dataclass(frozen=True)
class Scenario:
    number: int
    title: str
    contacts: tuple[str, ...]  # normalised contacts to run `explain` on


SCENARIOS = (
    Scenario(1, "STOP keyword locks, CSV re-subscribe blocked, START unlocks", ("+17202634410",)),
    Scenario(
        2,
        "channel unsubscribe cascades to groups; group re-subscribe blocked",
        ("olivia.stone@example.org",),
    ),
    Scenario(
        3, "event did_not_subscribe after a decision is ignored", ("dana.decided@example.org",)
    ),
    Scenario(
        4,
        "upload with row errors; upload with an unknown column",
        (
            "grace.hopper@example.org",
            "noah.kim@example.org",
            "alan.turing@example.org",
            "+17202634501",
            "+17202634502",
        ),
    ),
    Scenario(
        5,
        "late event, duplicated messageId, truncated .gz",
        (
            "liam.late@example.org",
            "emma.dup@example.org",
        ),
    ),
    Scenario(
        6,
        "repaired defects: missing and future timestamps",
        (
            "+17202634603",
            "fiona.future@example.org",
        ),
    ),
    Scenario(7, "bad lines and entries next to good ones", ("ivan.partial@example.org",)),
)


@dataclass(frozen=True)
class StoryStats:
    events: int  # log lines of the intact files
    log_files: int  # the truncated file included
    corrupt_files: int
    uploads: int
    csv_rows: int


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _message(
    name: str,
    *,
    type_: str,
    received: datetime,
    timestamp: datetime | None,
    user_id: str | None = None,
    event: str | None = None,
    subscriptions: list[dict] | None = None,
    properties: dict | None = None,
    message_id: str | None = None,
) -> dict:
    """A Segment message; ids derive from `name`, so they are stable from run to run."""
    message: dict = {"type": type_}
    if event:
        message["event"] = event
    message["messageId"] = message_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"story:{name}"))
    if user_id:
        message["userId"] = user_id
    message["anonymousId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"anon:{user_id or name}"))
    if timestamp is not None:
        message["timestamp"] = _iso(timestamp)
    message["receivedAt"] = _iso(received)
    context: dict = {"library": {"name": "analytics.js", "version": "5.2.0"}}
    if subscriptions is not None:
        context["messaging_subscriptions"] = subscriptions
    message["context"] = context
    if properties is not None:
        message["properties"] = properties
    return message


def _sub(key: str, type_: str, status: str, groups: dict[str, str] | None = None) -> dict:
    entry = {"key": key, "type": type_, "status": status}
    if groups is not None:
        entry["groups"] = [{"name": n, "status": s} for n, s in groups.items()]
    return entry


def _inbound(name: str, at: datetime, phone: str, body: str, channel: str = "SMS") -> dict:
    event = "SMS Received" if channel == "SMS" else "WhatsApp Message Received"
    props = {"from": phone, "to": "+14155238886", "body": body}
    return _message(
        name,
        type_="track",
        event=event,
        received=at + timedelta(seconds=1),
        timestamp=at,
        properties=props,
    )


def _sent(name: str, at: datetime, user: str, subs: list[dict], event: str | None = None) -> dict:
    """An identify (or a track `event`) carrying subscriptions, received 2 s after `at`."""
    return _message(
        name,
        type_="track" if event else "identify",
        event=event,
        received=at + timedelta(seconds=2),
        timestamp=at,
        user_id=user,
        subscriptions=subs,
    )


def story_messages(start_day: date) -> dict[int, list[dict | str]]:
    """The story lines per received-day index; a str is a raw (defective) line."""
    d0 = datetime(start_day.year, start_day.month, start_day.day, tzinfo=UTC)

    def at(day: int, hh: int, mm: int = 0) -> datetime:
        return d0 + timedelta(days=day, hours=hh, minutes=mm)

    dup = _sent(
        "emma-dup",
        at(1, 23, 58),
        "usr_emma",
        [_sub("emma.dup@example.org", "EMAIL", "SUBSCRIBED")],
        "Preferences Updated",
    )
    redelivered = dict(dup, receivedAt=_iso(at(2, 0, 4)))
    late = _sent(
        "liam-late-unsubscribe",
        at(1, 10),
        "usr_liam",
        [_sub("liam.late@example.org", "EMAIL", "UNSUBSCRIBED")],
        "Preferences Updated",
    )
    late["receivedAt"] = _iso(at(3, 9))
    future = _sent(
        "fiona-future",
        at(2, 17),
        "usr_fiona",
        [_sub("Fiona.Future@example.org", "EMAIL", "SUBSCRIBED")],
    )
    future["timestamp"] = _iso(at(2, 20))  # 3 h after receivedAt: clamped
    no_time = _sent(
        "wa-missing-timestamp",
        at(3, 16),
        "usr_wanda",
        [_sub("+1 720 263 4603", "WHATSAPP", "UNSUBSCRIBED")],
        "Preferences Updated",
    )
    del no_time["timestamp"]
    partial = _sent(
        "ivan-partial",
        at(1, 9),
        "usr_ivan",
        [
            _sub(" Ivan.Partial@Example.org", "Email", "subscribed"),
            _sub("555-0100", "SMS", "SUBSCRIBED"),  # INVALID_PHONE
            _sub("ivan.partial@example.org", "PUSH", "SUBSCRIBED"),  # INVALID_CHANNEL
            _sub("+1 720 263 4700", "SMS", "OPTED_IN"),  # INVALID_SUBSCRIPTION_STATUS
        ],
    )
    broken = json.dumps(
        _sent(
            "broken-line", at(1, 9, 30), "usr_ivan", [_sub("x@example.org", "EMAIL", "SUBSCRIBED")]
        )
    )
    sam = "usr_sam"
    olivia = [
        _sub(
            " Olivia.Stone@Example.org ",
            "EMAIL",
            "SUBSCRIBED",
            {
                "newsletter": "SUBSCRIBED",
                "promotions": "SUBSCRIBED",
            },
        )
    ]
    return {
        0: [
            _sent("sam-optin", at(0, 10), sam, [_sub("+1 720 263 4410", "SMS", "SUBSCRIBED")]),
            _sent("olivia-optin", at(0, 11), "usr_olivia", olivia),
            _sent(
                "dana-optin",
                at(0, 12),
                "usr_dana",
                [_sub("dana.decided@example.org", "EMAIL", "SUBSCRIBED")],
            ),
        ],
        1: [
            _inbound("sam-stop", at(1, 8, 15), "(720) 263-4410", " Stop "),
            partial,
            broken[: len(broken) // 2],  # INVALID_JSON
            _sent(
                "olivia-unsubscribe",
                at(1, 14),
                "usr_olivia",
                [_sub("olivia.stone@example.org", "EMAIL", "UNSUBSCRIBED")],
                "Email Unsubscribed",
            ),
            _sent(
                "wanda-optin",
                at(1, 15),
                "usr_wanda",
                [_sub("720.263.4603", "WHATSAPP", "SUBSCRIBED")],
            ),
            _inbound("sam-chatter", at(1, 16), "+17202634410", "stop sending me this please"),
            dup,
        ],
        2: [
            redelivered,
            _sent(
                "liam-optin",
                at(2, 12),
                "usr_liam",
                [_sub("liam.late@example.org", "EMAIL", "SUBSCRIBED")],
            ),
            _sent(
                "dana-dns",
                at(2, 15),
                "usr_dana",
                [_sub("dana.decided@example.org", "EMAIL", "DID_NOT_SUBSCRIBE")],
                "Preferences Updated",
            ),
            future,
        ],
        3: [late, no_time, _inbound("sam-start", at(3, 18), "720-263-4410", "START")],
    }


def truncated_messages(start_day: date) -> list[dict]:
    """The content of the truncated file on D4: none of it may ever apply (CORRUPT_FILE)."""
    d4 = datetime(start_day.year, start_day.month, start_day.day, tzinfo=UTC) + timedelta(days=4)
    return [
        _sent(
            f"zoe-corrupt-{i}",
            d4 + timedelta(hours=7, minutes=i),
            "usr_zoe",
            [_sub("zoe.corrupt@example.org", "EMAIL", "SUBSCRIBED")],
        )
        for i in range(40)
    ]


def _lines(messages: list[dict | str]) -> list[str]:
    """One line per message, in the order given (story lists are written in receivedAt order)."""
    return [m if isinstance(m, str) else json.dumps(m, separators=(",", ":")) for m in messages]


# Story CSV uploads: file name -> (columns, rows, bom, crlf).
def story_uploads(start_day: date) -> dict[str, tuple[list[str], list[list[str]], bool, bool]]:
    d0 = datetime(start_day.year, start_day.month, start_day.day, tzinfo=UTC)

    def name(day: int, hh: int, mm: int, label: str) -> str:
        return f"{d0 + timedelta(days=day, hours=hh, minutes=mm):%Y%m%dT%H%M%SZ}_{label}.csv"

    return {
        name(2, 9, 30, "crm-resync"): (
            ["email", "phone", "sms_subscription_status", "newsletter_subscription_status"],
            [
                ["", "720-263-4410", "Subscribed", ""],  # blocked: STOP lock
                ["olivia.stone@example.org", "", "", "subscribed"],  # blocked: global state
            ],
            False,
            False,
        ),
        name(3, 10, 15, "booth-scans"): (
            ["email", "phone", "email_subscription_status", "sms_subscription_status"],
            [
                ["Grace.Hopper@example.org", "+1 720 263 4501", "subscribed", "true"],
                ["maria.garcia@@example.org", "", "subscribed", ""],  # INVALID_EMAIL
                ["noah.kim@example.org", "555-0100", "unsubscribed", "subscribed"],  # phone bad
                ["liv.status@example.org", "", "yes please", ""],  # INVALID_SUBSCRIPTION_STATUS
                ["", "", "subscribed", "subscribed"],  # MISSING_IDENTIFIER
                [" ALAN.TURING@EXAMPLE.ORG ", "(720) 263-4502", "Did-Not-Subscribe", "FALSE"],
            ],
            True,
            True,
        ),
        name(3, 12, 0, "partner-list-v2"): (
            ["email", "favorite_color", "email_subscription_status"],  # UNKNOWN_COLUMN
            [["pat.partner@example.org", "teal", "subscribed"]],
            False,
            False,
        ),
    }


def _csv_text(columns: list[str], rows: list[list[str]], crlf: bool) -> str:
    """Simple CSV: story values contain no commas or quotes."""
    end = "\r\n" if crlf else "\n"
    return "".join(",".join(cells) + end for cells in [columns, *rows])


def write_stories(out: Path, *, start_day: date, source_id: str) -> StoryStats:
    """Write the story log files and uploads under `out` (the source folder `source_id`)."""
    base = out / "segment-logs" / source_id
    lines = files = 0
    for day, messages in story_messages(start_day).items():
        day_ms = day_start_ms(start_day) + day * DAY_MS
        text = _lines(messages)
        write_gzip_lines(base / str(day_ms) / f"{day_ms + 1}.stories.gz", ["\n".join(text) + "\n"])
        lines += len(text)
        files += 1
    # A file cut short in transfer: a valid gzip stream truncated in the middle.
    d4 = day_start_ms(start_day) + 4 * DAY_MS
    text = _lines(truncated_messages(start_day))
    whole = gzip_bytes("\n".join(text) + "\n")
    (base / str(d4)).mkdir(parents=True, exist_ok=True)
    (base / str(d4) / f"{d4 + 1}.truncated.gz").write_bytes(whole[: len(whole) * 2 // 3])
    files += 1

    uploads = story_uploads(start_day)
    csv_rows = 0
    for file_name, (columns, rows, bom, crlf) in uploads.items():
        body = ("\ufeff" if bom else "") + _csv_text(columns, rows, crlf)
        path = out / "uploads" / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body.encode("utf-8"))
        csv_rows += len(rows)
    return StoryStats(
        events=lines, log_files=files, corrupt_files=1, uploads=len(uploads), csv_rows=csv_rows
    )
