"""Bearer tokens and the client names they stand for (`SUBSCRIPTION_API_TOKENS`).

Each comma-separated item is `name:token` or a bare `token`. A bare token's client is named
`token-` plus the first 8 hex digits of its SHA-256: stable, and it reveals nothing of the
token. Tokens are kept only as digests and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping


def parse_token_items(items: Iterable[str]) -> dict[str, str]:
    """{token: client name} from `name:token` or bare `token` items (blanks skipped)."""
    tokens: dict[str, str] = {}
    for item in items:
        name, sep, token = item.strip().partition(":")
        if not sep:
            name, token = "", name
        name, token = name.strip(), token.strip()
        if token:
            tokens[token] = name or anonymous_name(token)
    return tokens


def parse_token_config(raw: str) -> dict[str, str]:
    return parse_token_items(raw.split(","))


def anonymous_name(token: str) -> str:
    return "token-" + hashlib.sha256(token.encode()).hexdigest()[:8]


class TokenTable:
    """Looks a presented token up in constant time: every known digest compared, no early exit."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self._known = tuple(
            (hashlib.sha256(token.encode()).digest(), name) for token, name in tokens.items()
        )

    def __len__(self) -> int:
        return len(self._known)

    def client_of(self, presented: str) -> str | None:
        candidate = hashlib.sha256(presented.encode()).digest()
        found = None
        for digest, name in self._known:
            if hmac.compare_digest(candidate, digest):
                found = name
        return found
