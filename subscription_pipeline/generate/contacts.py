"""The synthetic contact pool: contact i always has the same email, phone and user id.

Identities are pure functions of the contact index (so any chunk can rebuild them without a
lookup table); only their spelling (case, spaces, phone format) varies from one use to the next.
"""

from __future__ import annotations

import numpy as np
import polars as pl

# Real US area codes; every exchange 200-999 except N11 and 555 is valid in them per
# libphonenumber (tests check a sample with `phonenumbers.is_valid_number`).
AREA_CODES = (201, 206, 212, 213, 305, 312, 404, 415, 503, 512)
AREA_CODES += (602, 617, 646, 702, 713, 718, 773, 818, 919, 978)
EXCHANGES = tuple(e for e in range(200, 1000) if e % 100 != 11 and e != 555)
# Contact i gets number slot (i * _SCATTER) mod _SLOTS: a bijection (the multiplier is a prime
# that does not divide _SLOTS), so numbers are unique yet look scattered, not sequential.
_SLOTS = len(AREA_CODES) * len(EXCHANGES) * 10_000
_SCATTER = 1_000_003
_OFFSET = 7_654_321

FIRST_NAMES = ("james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda")
FIRST_NAMES += ("william", "elizabeth", "david", "barbara", "richard", "susan", "joseph", "jessica")
FIRST_NAMES += ("thomas", "sarah", "carlos", "maria", "wei", "aisha", "kenji", "fatima")
LAST_NAMES = ("smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis")
LAST_NAMES += ("rodriguez", "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson")
LAST_NAMES += ("thomas", "taylor", "moore", "jackson", "martin", "lee", "nguyen", "chen", "patel")
DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "example.com")
DOMAINS += ("proton.me", "aol.com")

# Spellings that are never valid, for the intended defects.
INVALID_EMAILS = ("jane.doe@", "not-an-email", "maria@@example.com", "@example.com")
INVALID_EMAILS += ("john..smith@example.com",)
INVALID_PHONES = ("555-0100", "12345", "+1 415 555", "call me", "+1 (555) 010-0199")


def _pick(values: tuple[str, ...], idx: np.ndarray) -> pl.Series:
    return pl.Series(values, dtype=pl.String).gather(idx % len(values))


def canonical_emails(idx: np.ndarray) -> pl.Series:
    """The normalised email of each contact index (lower case, no spaces)."""
    frame = pl.DataFrame(
        {
            "first": _pick(FIRST_NAMES, idx),
            "last": _pick(LAST_NAMES, idx // len(FIRST_NAMES)),
            "n": idx,
            "domain": _pick(DOMAINS, idx // 7),
        }
    )
    return frame.select(
        pl.concat_str([pl.col("first"), pl.lit("."), pl.col("last"), pl.col("n"), pl.lit("@")])
        + pl.col("domain")
    ).to_series()


def _phone_parts(idx: np.ndarray) -> pl.DataFrame:
    """Area code, exchange and line (as zero-padded strings) of each contact index."""
    slot = ((idx.astype(np.int64) % _SLOTS) * _SCATTER + _OFFSET) % _SLOTS
    rest = slot // len(AREA_CODES)
    return pl.DataFrame(
        {
            "a": np.asarray(AREA_CODES)[slot % len(AREA_CODES)],
            "e": np.asarray(EXCHANGES)[rest % len(EXCHANGES)],
            "l": rest // len(EXCHANGES),
        }
    ).select(
        pl.col("a").cast(pl.String),
        pl.col("e").cast(pl.String),
        pl.col("l").cast(pl.String).str.zfill(4),
    )


def canonical_phones(idx: np.ndarray) -> pl.Series:
    """The E.164 phone of each contact index."""
    return _phone_parts(idx).select(pl.concat_str([pl.lit("+1"), "a", "e", "l"])).to_series()


# The spellings people type: (literal, part, literal, part, ...) with parts a/e/l.
_PHONE_FORMATS: tuple[tuple[str, ...], ...] = (
    ("+1 ", "a", " ", "e", " ", "l"),
    ("(", "a", ") ", "e", "-", "l"),
    ("", "a", "-", "e", "-", "l"),
    ("", "a", "", "e", "", "l"),
    ("+1", "a", "", "e", "", "l"),
    ("1-", "a", "-", "e", "-", "l"),
    ("", "a", ".", "e", ".", "l"),
    ("+1 (", "a", ") ", "e", "-", "l"),
)


def _format_expr(fmt: tuple[str, ...]) -> pl.Expr:
    parts = [pl.lit(p) if i % 2 == 0 else pl.col(p) for i, p in enumerate(fmt)]
    return pl.concat_str(parts)


def raw_phones(idx: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """Each contact's phone in one of the formats people type, picked at random."""
    parts = _phone_parts(idx).with_columns(
        fmt=pl.Series(rng.integers(0, len(_PHONE_FORMATS), len(idx)))
    )
    expr = pl.when(pl.col("fmt") == 0).then(_format_expr(_PHONE_FORMATS[0]))
    for i, fmt in enumerate(_PHONE_FORMATS[1:], start=1):
        expr = expr.when(pl.col("fmt") == i).then(_format_expr(fmt))
    return parts.select(expr.alias("phone")).to_series()


def raw_emails(idx: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """Each contact's email as typed: mostly lower case, some Title Case, UPPER or padded."""
    style = rng.choice(4, size=len(idx), p=[0.6, 0.2, 0.1, 0.1])
    return (
        pl.DataFrame({"email": canonical_emails(idx), "style": style})
        .select(
            pl.when(pl.col("style") == 1)
            .then(pl.col("email").str.to_titlecase())
            .when(pl.col("style") == 2)
            .then(pl.col("email").str.to_uppercase())
            .when(pl.col("style") == 3)
            .then(pl.concat_str([pl.lit(" "), pl.col("email"), pl.lit("  ")]))
            .otherwise(pl.col("email"))
            .alias("email")
        )
        .to_series()
    )


def user_ids(idx: np.ndarray) -> pl.Series:
    """The user id of each contact index, e.g. `usr_0000042`."""
    return (
        pl.DataFrame({"n": idx})
        .select(pl.concat_str([pl.lit("usr_"), pl.col("n").cast(pl.String).str.zfill(7)]))
        .to_series()
    )


def replace_some(
    values: pl.Series, rng: np.random.Generator, rate: float, pool: tuple[str, ...]
) -> tuple[pl.Series, np.ndarray]:
    """Replace a `rate` share of `values` by random picks of `pool`; also return the mask."""
    mask = rng.random(len(values)) < rate
    picks = pl.Series(pool, dtype=pl.String).gather(rng.integers(0, len(pool), len(values)))
    replaced = pl.select(
        pl.when(pl.Series(mask)).then(picks).otherwise(values).alias(values.name)
    ).to_series()
    return replaced, mask
