"""One chunk of random Segment messages, as a frame of fields, and its rendering to NDJSON lines.

Sampling and rendering are separate so a re-delivered copy (same messageId, later receivedAt)
can be rendered again from its fields. Every value is drawn from a fixed alphabet without
quotes or backslashes, so lines are assembled by string concatenation (vectorised) and are
valid JSON without escaping.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from subscription_pipeline.generate import contacts as pool
from subscription_pipeline.generate import segment_bodies as bodies
from subscription_pipeline.generate.randomness import choose, uuids

# Message kinds and their share of the traffic.
KINDS = ("identify", "preferences", "sms_in", "whatsapp_in", "page", "order", "screen")
KIND_WEIGHTS = (0.24, 0.10, 0.08, 0.03, 0.28, 0.22, 0.05)
_TYPE = ("identify", "track", "track", "track", "page", "track", "screen")
_EVENT = (None, "Preferences Updated", "SMS Received", "WhatsApp Message Received")
_EVENT += (None, "Order Completed", None)
_USER_ID_SHARE = (1.0, 0.8, 0.3, 0.3, 0.3, 0.9, 0.6)
# The kinds that can change a subscription (they carry messaging_subscriptions or a keyword).
SUBSCRIPTION_KINDS = 4


def kind_weights(subscription_share: float | None) -> tuple[float, ...]:
    """The weights of KINDS: the compact mix, or `subscription_share` (0-1) of the messages
    carrying subscriptions or keywords (in the compact mix's proportions) and the rest ordinary
    page, order and screen events."""
    if subscription_share is None:
        return KIND_WEIGHTS
    if not 0 <= subscription_share <= 1:
        raise ValueError("the subscription share is a fraction between 0 and 1")
    matter, ordinary = KIND_WEIGHTS[:SUBSCRIPTION_KINDS], KIND_WEIGHTS[SUBSCRIPTION_KINDS:]
    return tuple(w * subscription_share / sum(matter) for w in matter) + tuple(
        w * (1 - subscription_share) / sum(ordinary) for w in ordinary
    )


# Defect rates (per message, or per subscription entry).
LATE_SHARE = 0.05  # timestamp 1-72 h before receivedAt
MISSING_TIMESTAMP_SHARE = 0.003
FUTURE_TIMESTAMP_SHARE = 0.002  # timestamp 6 min - 3 h after receivedAt
INVALID_JSON_SHARE = 0.001
BAD_KEY_SHARE = 0.005
BAD_STATUS_SHARE = 0.003
UNKNOWN_TYPE_SHARE = 0.002

STATUSES = ("SUBSCRIBED", "UNSUBSCRIBED", "DID_NOT_SUBSCRIBE")
STATUS_WEIGHTS = (0.5, 0.3, 0.2)
BAD_STATUSES = ("OPTED_IN", "maybe", "UNSUBSCRIBE", "pending")
UNKNOWN_TYPES = ("PUSH", "FAX", "carrier_pigeon")
GROUPS = ("newsletter", "promotions", "product_updates")
GROUP_SHARE = 0.3
KEYWORD_BODIES = ("STOP", " stop ", "Stop", "START", "UNSTOP", "yes")
KEYWORD_BODIES += ("where is my order?", "Thanks!", "stop texting me please")
KEYWORD_WEIGHTS = (0.25, 0.1, 0.05, 0.1, 0.05, 0.05, 0.2, 0.1, 0.1)
BUSINESS_NUMBER = "+14155238886"
PAGES = ("/", "/pricing", "/products/coffee-grinder", "/account/preferences", "/checkout")
SCREENS = ("Home", "Cart", "Order Details", "Settings")
LIBRARY = '{"name":"analytics.js","version":"5.2.0"}'


def _spellings(
    rng: np.random.Generator, n: int, canonical: tuple[str, ...], weights: tuple[float, ...]
) -> pl.Series:
    """Picks of upper-case `canonical` values, 10% of them lower- or Title-cased (sloppy clients).

    Drawn from a small table of spellings, which is much faster than re-casing every string.
    """
    table = [v for value in canonical for v in (value, value.lower(), value.title())]
    value = rng.choice(len(canonical), size=n, p=np.asarray(weights) / sum(weights))
    style = rng.choice(3, size=n, p=[0.9, 0.05, 0.05])
    return pl.Series(table, dtype=pl.String).gather(value * 3 + style)


def _statuses(rng: np.random.Generator, n: int) -> pl.Series:
    status = _spellings(rng, n, STATUSES, STATUS_WEIGHTS)
    bad, _ = pool.replace_some(status, rng, BAD_STATUS_SHARE, BAD_STATUSES)
    return bad


def _entry(
    key: pl.Series, type_: str, rng: np.random.Generator, groups: pl.Series | None
) -> pl.Series:
    """One `messaging_subscriptions` entry per row, as a JSON object string."""
    n = len(key)
    types, _ = pool.replace_some(
        _spellings(rng, n, (type_,), (1.0,)), rng, UNKNOWN_TYPE_SHARE, UNKNOWN_TYPES
    )
    parts = [
        pl.lit('{"key":"'),
        key,
        pl.lit('","type":"'),
        types,
        pl.lit('","status":"'),
        _statuses(rng, n),
        pl.lit('"'),
    ]
    if groups is not None:
        parts += [pl.lit(',"groups":['), groups, pl.lit("]")]
    return pl.select(pl.concat_str([*parts, pl.lit("}")])).to_series()


def _groups(rng: np.random.Generator, n: int) -> pl.Series:
    """The `groups` list of an EMAIL entry: each group present with probability GROUP_SHARE."""
    items = []
    for name in GROUPS:
        present = pl.Series(rng.random(n) < GROUP_SHARE)
        item = pl.concat_str(
            [pl.lit(f'{{"name":"{name}","status":"'), _statuses(rng, n), pl.lit('"}')]
        )
        items.append(pl.when(present).then(item))
    return pl.select(pl.concat_str(items, separator=",", ignore_nulls=True)).to_series()


def _subscriptions(
    rng: np.random.Generator, n: int, emails: pl.Series, phones: pl.Series
) -> pl.Series:
    """The `messaging_subscriptions` array: EMAIL, SMS and/or WHATSAPP entries, at least one."""
    has_sms = rng.random(n) < 0.4
    has_whatsapp = rng.random(n) < 0.15
    has_email = (rng.random(n) < 0.7) | ~(has_sms | has_whatsapp)
    bad_email, _ = pool.replace_some(emails, rng, BAD_KEY_SHARE, pool.INVALID_EMAILS)
    bad_phone, _ = pool.replace_some(phones, rng, BAD_KEY_SHARE, pool.INVALID_PHONES)
    entries = [
        pl.when(pl.Series(has_email)).then(_entry(bad_email, "EMAIL", rng, _groups(rng, n))),
        pl.when(pl.Series(has_sms)).then(_entry(bad_phone, "SMS", rng, None)),
        pl.when(pl.Series(has_whatsapp)).then(_entry(bad_phone, "WHATSAPP", rng, None)),
    ]
    return pl.select(
        pl.concat_str(
            [pl.lit("["), pl.concat_str(entries, separator=",", ignore_nulls=True), pl.lit("]")]
        )
    ).to_series()


def _timestamps(rng: np.random.Generator, received_ms: np.ndarray) -> pl.Series:
    """Event time: mostly seconds before receivedAt, some late, a few future, a few missing."""
    n = len(received_ms)
    lag = (rng.exponential(1500.0, n) + 20).astype(np.int64)
    late = rng.random(n) < LATE_SHARE
    lag[late] = rng.integers(3_600_000, 72 * 3_600_000, int(late.sum()))
    future = rng.random(n) < FUTURE_TIMESTAMP_SHARE
    lag[future] = -rng.integers(6 * 60_000, 3 * 3_600_000, int(future.sum()))
    missing = rng.random(n) < MISSING_TIMESTAMP_SHARE
    return pl.Series("ts_ms", received_ms - lag).scatter(np.flatnonzero(missing), None)


def sample_messages(
    rng: np.random.Generator,
    n: int,
    contacts: int,
    start_ms: int,
    end_ms: int,
    weights: tuple[float, ...] = KIND_WEIGHTS,
) -> pl.DataFrame:
    """`n` random messages received in [start_ms, end_ms), sorted by receivedAt."""
    p = np.asarray(weights, dtype=float)
    kind = rng.choice(len(KINDS), size=n, p=p / p.sum())
    who = rng.integers(0, max(contacts, 1), n)
    received_ms = np.sort(rng.integers(start_ms, end_ms, n))
    emails = pool.raw_emails(who, rng)
    phones = pool.raw_phones(who, rng)
    kind_s = pl.Series("kind", kind, dtype=pl.Int8)
    # Only identify and preferences messages carry subscriptions: build just those entries.
    with_subs = np.flatnonzero(kind <= 1)
    subscriptions = pl.Series("subscriptions", [None] * n, dtype=pl.String).scatter(
        with_subs, _subscriptions(rng, len(with_subs), emails[with_subs], phones[with_subs])
    )
    has_user = rng.random(n) < np.asarray(_USER_ID_SHARE)[kind]
    frame = pl.DataFrame(
        {
            "kind": kind_s,
            "who": who,
            "message_id": uuids(rng, n),
            "user_id": pool.user_ids(who),
            "anonymous_id": uuids(rng, n),
            "ts_ms": _timestamps(rng, received_ms),
            "received_ms": received_ms,
            "subscriptions": subscriptions,
            "email": emails,
            "phone": phones,
            "body": choose(rng, n, KEYWORD_BODIES, KEYWORD_WEIGHTS),
            "page": choose(rng, n, PAGES, (1,) * len(PAGES)),
            "screen": choose(rng, n, SCREENS, (1,) * len(SCREENS)),
            "order_cents": rng.integers(500, 50_000, n),
            "broken": rng.random(n) < INVALID_JSON_SHARE,
        }
    )
    return frame.with_columns(
        pl.when(pl.Series(has_user)).then(pl.col("user_id")),
    )


def _iso(ms: pl.Expr) -> pl.Expr:
    return ms.cast(pl.Datetime("ms")).dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")


def _field(name: str, value: pl.Expr, *, quoted: bool = True) -> pl.Expr:
    """`,"name":"value"` (null when the value is null, so the field is left out)."""
    q = '"' if quoted else ""
    return pl.concat_str([pl.lit(f',"{name}":{q}'), value, pl.lit(q)])


def _by_kind(values: tuple[str | None, ...]) -> pl.Expr:
    table = pl.Series(values, dtype=pl.String)
    return pl.lit(table).gather(pl.col("kind").cast(pl.Int64))


def _properties() -> pl.Expr:
    kind = pl.col("kind")
    inbound = pl.concat_str(
        [pl.lit('{"from":"'), pl.col("phone"), pl.lit(f'","to":"{BUSINESS_NUMBER}","body":"')]
        + [pl.col("body"), pl.lit('"}')]
    )
    page = pl.concat_str(
        [pl.lit('{"path":"'), pl.col("page"), pl.lit('","url":"https://shop.example.com')]
        + [pl.col("page"), pl.lit('"}')]
    )
    order = pl.concat_str(
        [pl.lit('{"order_id":"ord_'), pl.col("message_id").str.slice(0, 8)]
        + [pl.lit('","total":'), (pl.col("order_cents") / 100).cast(pl.String)]
        + [pl.lit(',"currency":"USD"}')]
    )
    screen = pl.concat_str([pl.lit('{"name":"'), pl.col("screen"), pl.lit('"}')])
    return (
        pl.when(kind.is_in([2, 3]))
        .then(inbound)
        .when(kind == 4)
        .then(page)
        .when(kind == 5)
        .then(order)
        .when(kind == 6)
        .then(screen)
    )


def _opening() -> list[pl.Expr]:
    """The start of every line, compact or realistic: type, event and the three ids."""
    return [
        pl.lit('{"type":"'),
        _by_kind(_TYPE),
        pl.lit('"'),
        _field("event", _by_kind(_EVENT)),
        _field("messageId", pl.col("message_id")),
        _field("userId", pl.col("user_id")),
        _field("anonymousId", pl.col("anonymous_id")),
    ]


def _realistic_line() -> pl.Expr:
    """A message as analytics.js sends it (segment_bodies): about 0.9 kB for a page or order."""
    kind = pl.col("kind")
    properties = (
        pl.when(kind == 1)
        .then(pl.lit('{"source":"preference_center"}'))
        .when(kind == 4)
        .then(bodies.page_properties())
        .when(kind == 5)
        .then(bodies.order_properties())
        .otherwise(_properties())
    )
    timestamp = _iso(pl.col("ts_ms"))
    return pl.concat_str(
        [
            *_opening(),
            pl.lit(',"channel":"client"'),
            _field("timestamp", timestamp),
            _field("sentAt", timestamp),
            _field("receivedAt", _iso(pl.col("received_ms"))),
            _field("context", bodies.context(pl.col("subscriptions")), quoted=False),
            _field("properties", properties, quoted=False),
            _field("traits", pl.when(kind == 0).then(bodies.identify_traits()), quoted=False),
            pl.lit(f',"integrations":{{}},"writeKey":"{bodies.WRITE_KEY}","version":2}}'),
        ],
        ignore_nulls=True,
    )


def render_lines(messages: pl.DataFrame, realistic: bool = False) -> pl.Series:
    """One NDJSON line per message; `broken` messages are cut in half (invalid JSON).

    `realistic`: full analytics.js bodies (segment_bodies) instead of the compact ones."""
    traits = pl.when(pl.col("kind") == 0).then(
        pl.concat_str([pl.lit('{"email":"'), pl.col("email"), pl.lit('"}')])
    )
    context = pl.concat_str(
        [
            pl.lit(f',"context":{{"library":{LIBRARY}'),
            _field("messaging_subscriptions", pl.col("subscriptions"), quoted=False),
            pl.lit("}"),
        ],
        ignore_nulls=True,
    )
    line = pl.concat_str(
        [
            *_opening(),
            _field("timestamp", _iso(pl.col("ts_ms"))),
            _field("receivedAt", _iso(pl.col("received_ms"))),
            context,
            _field("properties", _properties(), quoted=False),
            _field("traits", traits, quoted=False),
            pl.lit("}"),
        ],
        ignore_nulls=True,
    )
    if realistic:
        line = _realistic_line()
    half = pl.col("line").str.slice(0, pl.col("line").str.len_bytes() // 2)
    return (
        messages.select(pl.col("broken"), line.alias("line"))
        .select(pl.when(pl.col("broken")).then(half).otherwise(pl.col("line")))
        .to_series()
    )
