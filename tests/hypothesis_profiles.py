"""Two hypothesis budgets. `make test` runs every property at its full number of examples; the
fast subset (`-m "not slow"`, or HYPOTHESIS_PROFILE=fast) runs a quarter of them, at least
MIN_EXAMPLES, so each property is still exercised on every run."""

from __future__ import annotations

import os

from hypothesis import settings

FULL, FAST = "full", "fast"
FAST_SHARE = 4
MIN_EXAMPLES = 10

settings.register_profile(FULL, max_examples=100)
settings.register_profile(FAST, max_examples=100 // FAST_SHARE)


def choose_profile(markexpr: str) -> str:
    """HYPOTHESIS_PROFILE wins; otherwise deselecting the slow tests asks for the fast budget."""
    chosen = os.environ.get("HYPOTHESIS_PROFILE")
    if chosen:
        return chosen
    return FAST if "not slow" in markexpr else FULL


def examples(full: int) -> int:
    """`full` examples under the full profile, scaled like the loaded profile's default."""
    return max(MIN_EXAMPLES, full * settings.default.max_examples // 100)
