"""Seeded randomness: every chunk of output gets its own generator derived from its position.

A chunk's generator depends only on (seed, its coordinates), never on what was drawn before, so
the output is the same whatever else was generated and in whatever order.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def chunk_rng(seed: int, *coordinates: int) -> np.random.Generator:
    return np.random.default_rng([seed, *coordinates])


def hex_ids(rng: np.random.Generator, n: int, nbytes: int = 16) -> pl.Series:
    """`n` random lower-case hex strings of `2 * nbytes` characters (vectorised)."""
    width = 2 * nbytes
    packed = np.frombuffer(rng.bytes(nbytes * n).hex().encode(), dtype=f"S{width}")
    return pl.Series(packed.astype(f"U{width}"), dtype=pl.String)


def uuids(rng: np.random.Generator, n: int) -> pl.Series:
    """Random UUID-shaped strings (8-4-4-4-12), as Segment's libraries make message ids."""
    raw = hex_ids(rng, n)
    return pl.select(
        pl.concat_str(
            [raw.str.slice(0, 8), raw.str.slice(8, 4), raw.str.slice(12, 4)]
            + [raw.str.slice(16, 4), raw.str.slice(20, 12)],
            separator="-",
        )
    ).to_series()


def choose(
    rng: np.random.Generator, n: int, values: tuple[str, ...], weights: tuple[float, ...]
) -> pl.Series:
    """`n` picks of `values` with the given relative weights."""
    p = np.asarray(weights, dtype=float)
    idx = rng.choice(len(values), size=n, p=p / p.sum())
    return pl.Series(values, dtype=pl.String).gather(idx)
