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
    """`key=value` pairs in the stored order, values as JSON when they are not plain strings."""
    return ", ".join(
        f"{key}={value if isinstance(value, str) else json.dumps(value)}"
        for key, value in parse_evidence(text).items()
    )
