"""Evidence (proof of consent) as stored beside an observation: a JSON object, shown as text.

The resolution never reads it; explain and the consent records show it (docs/consent.md).
"""

from __future__ import annotations

import json
from typing import Any


def parse_evidence(text: str | None) -> dict[str, Any]:
    """The stored JSON as a dict; {} when there is none (or, defensively, when it is not JSON)."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"evidence": text}
    return value if isinstance(value, dict) else {"evidence": value}


def describe_evidence(text: str | None) -> str:
    """`key=value` pairs in the stored order; a value is quoted (JSON) unless it is a plain
    string, so that a body received as " Stop " shows its spaces."""
    return ", ".join(f"{key}={_shown(value)}" for key, value in parse_evidence(text).items())


def _shown(value: Any) -> str:
    plain = isinstance(value, str) and value and value == value.strip() and "," not in value
    return value if plain else json.dumps(value)
