"""Realistic Segment message bodies: context, page, properties and traits as analytics.js sends.

An ordinary page or track event renders to about 0.9 kB, as in a real source, so that a mix where
few messages carry subscriptions weighs what a real one weighs. Every varying value is derived
from the message's own fields (contact index, ids, times), never from extra random draws, and
comes from a fixed alphabet without quotes or backslashes (lines stay valid JSON unescaped).
"""

from __future__ import annotations

import polars as pl

SITE = "https://shop.example.com"
WRITE_KEY = "k3yW0rdSegmentWriteKey42"
USER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Safari/537.36 Edg/119.0.0.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
)
TITLES = {
    "/": "Shop - Coffee gear for people who care",
    "/pricing": "Pricing - Shop",
    "/products/coffee-grinder": "Burr coffee grinder, 40 settings - Shop",
    "/account/preferences": "Your preferences - Shop",
    "/checkout": "Checkout - Shop",
}
REFERRERS = ("https://www.google.com/", "https://duckduckgo.com/", "", "https://t.co/abc123")
TIMEZONES = ("America/New_York", "America/Los_Angeles", "Europe/Berlin", "America/Chicago")
LOCALES = ("en-US", "en-GB", "de-DE", "es-US")


def _pick(values: tuple[str, ...], index: pl.Expr) -> pl.Expr:
    return pl.lit(pl.Series(values, dtype=pl.String)).gather(index % len(values))


def _obj(*pairs: tuple[str, pl.Expr | str]) -> pl.Expr:
    """A JSON object from (name, value) pairs; a str value is a literal string, an expression is
    rendered as it is (the caller quotes it when it is a string). Null values are left out."""
    parts = []
    for name, value in pairs:
        rendered = pl.lit(f'"{value}"') if isinstance(value, str) else value
        parts.append(pl.concat_str([pl.lit(f'"{name}":'), rendered]))
    inner = pl.concat_str(parts, separator=",", ignore_nulls=True)
    return pl.concat_str([pl.lit("{"), inner, pl.lit("}")])


def _q(expr: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit('"'), expr, pl.lit('"')])


def _page(page: pl.Expr, who: pl.Expr) -> pl.Expr:
    return _obj(
        ("path", _q(page)),
        ("referrer", _q(_pick(REFERRERS, who))),
        ("search", ""),
        ("title", _q(page.replace_strict(TITLES, default="Shop"))),
        ("url", _q(pl.concat_str([pl.lit(SITE), page]))),
    )


def context(subscriptions: pl.Expr) -> pl.Expr:
    """analytics.js's context; `subscriptions` (a JSON array or null) is added when present."""
    who = pl.col("who")
    octets = [(who // 256 % 256).cast(pl.String), pl.lit("."), (who % 256).cast(pl.String)]
    return _obj(
        ("ip", _q(pl.concat_str([pl.lit("198.51."), *octets]))),
        ("library", pl.lit('{"name":"analytics.js","version":"next-1.62.0"}')),
        ("locale", _q(_pick(LOCALES, who // 3))),
        ("page", _page(pl.col("page"), who)),
        ("timezone", _q(_pick(TIMEZONES, who // 5))),
        ("userAgent", _q(_pick(USER_AGENTS, who // 2))),
        ("messaging_subscriptions", subscriptions),
    )


def page_properties() -> pl.Expr:
    return _page(pl.col("page"), pl.col("who"))


_PRODUCT = (
    '{"product_id":"507f1f77bcf86cd79943901%d","sku":"GRD-%03d","name":"%s",'
    '"price":%s,"quantity":1,"category":"Coffee gear","brand":"Shop"}'
)
_PRODUCTS = "[" + _PRODUCT % (1, 7, "Burr coffee grinder", "129.0") + "]"


def order_properties() -> pl.Expr:
    cents = pl.col("order_cents")
    message_id = pl.col("message_id")
    return _obj(
        ("order_id", _q(pl.concat_str([pl.lit("ord_"), message_id.str.slice(0, 8)]))),
        ("total", (cents / 100).cast(pl.String)),
        ("revenue", (cents / 100 * 0.9).round(2).cast(pl.String)),
        ("shipping", pl.lit("4.99")),
        ("tax", (cents / 100 * 0.1).round(2).cast(pl.String)),
        ("coupon", "SPRING10"),
        ("currency", "USD"),
        ("products", pl.lit(_PRODUCTS)),
    )


def identify_traits() -> pl.Expr:
    who = pl.col("who")
    return _obj(
        ("email", _q(pl.col("email"))),
        ("phone", _q(pl.col("phone"))),
        ("first_name", _q(_pick(("Ann", "Bo", "Chen", "Dara", "Eli", "Femi"), who))),
        ("plan", _q(_pick(("free", "plus", "pro"), who // 11))),
        ("created_at", pl.lit('"2023-06-01T12:00:00.000Z"')),
    )
