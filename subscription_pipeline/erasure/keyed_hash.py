"""The keyed hash of a normalised contact: HMAC-SHA256 with a secret from the configuration.

Without the secret a hash cannot be linked back to a contact (no dictionary attack on the
addresses); with it, the same person is recognised whatever spelling a later input uses, since
the hash is taken of the normalised form. The secret is read when it is needed, never at import.
"""

from __future__ import annotations

import hashlib
import hmac
import os

SECRET_ENV = "SUBSCRIPTION_ERASURE_SECRET"
MIN_SECRET_BYTES = 16
_BLOCK = 64  # SHA-256's block size, for the pads of the SQL form


class ErasureSecretMissing(RuntimeError):
    """Suppression needs the secret: without it nothing can be recognised, so nothing proceeds."""


def load_secret() -> bytes:
    value = os.environ.get(SECRET_ENV, "")
    if not value:
        raise ErasureSecretMissing(
            f"{SECRET_ENV} is not set: erasure keeps a suppression keyed by an HMAC of the "
            "contact, and without the secret it can neither record nor recognise one. Set it "
            "(at least 16 characters, e.g. `openssl rand -hex 32`) and keep it with the "
            "warehouse's other secrets; changing it later is refused (docs/consent.md)."
        )
    secret = value.encode()
    if len(secret) < MIN_SECRET_BYTES:
        raise ErasureSecretMissing(f"{SECRET_ENV} is shorter than {MIN_SECRET_BYTES} bytes")
    return secret


def contact_hash(contact: str, secret: bytes) -> str:
    """Hex HMAC-SHA256 of the normalised contact."""
    return hmac.new(secret, contact.encode(), hashlib.sha256).hexdigest()


def key_check(secret: bytes) -> str:
    """The secret's fingerprint, stored to refuse another secret (its hashes would not match)."""
    return hmac.new(secret, b"subscription-pipeline erasure key check", hashlib.sha256).hexdigest()


def hmac_pads(secret: bytes) -> tuple[bytes, bytes]:
    """(inner, outer) padded keys, so SQL computes the same HMAC as `contact_hash`:
    sha256(outer || unhex(sha256(inner || contact)))."""
    key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


# contact_hash in SQL (DuckDB), the pads as parameters: _contact_hmac(contact, ?, ?).
HMAC_MACRO = (
    "CREATE OR REPLACE TEMP MACRO _contact_hmac(c, inner_pad, outer_pad) AS "
    "sha256(outer_pad::BLOB || unhex(sha256(inner_pad::BLOB || encode(c))))"
)
