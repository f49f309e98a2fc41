"""Judging each API entry with ingestion's rules and codes (SPEC 2.2 and 2.4).

Two levels, as Segment's API has them:
- the request's shape (what the SDK's own models refuse to send: a key that is not a string, a
  type or status outside Segment's enums, a malformed group) is a `422` for the whole request,
  listed as `ApiError`s, and nothing is recorded;
- an entry of the right shape that cannot be applied (an invalid email or phone, a push channel,
  groups on SMS) is `Rejected`: answered in `failures` while the other entries are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from subscription_pipeline.api.envelope import ApiError
from subscription_pipeline.errors import RecordError
from subscription_pipeline.normalize import normalize_email, normalize_phone
from subscription_pipeline.vocabulary import CHANNELS, STATUSES

STATUS_HINT = "expected SUBSCRIBED, UNSUBSCRIBED or DID_NOT_SUBSCRIBE"
# Segment's channel enum; push channels are in it but have no subscription state here.
PUSH_TYPES = frozenset({"ios_push", "android_push"})
TYPE_HINT = "expected EMAIL, SMS, WHATSAPP, IOS_PUSH or ANDROID_PUSH"
UNSUPPORTED_CHANNEL = "UNSUPPORTED_CHANNEL"


@dataclass(frozen=True)
class Rejected:
    """An entry refused on its own: echoed with its key and type as sent, and why."""

    index: int
    key: str
    type: str
    errors: tuple[tuple[str, str], ...]  # (code, message)
    contact: str | None = None  # the normalised key, when the key itself was valid


@dataclass(frozen=True)
class Entry:
    """A valid entry: normalised contact, canonical statuses, groups by trimmed name."""

    index: int
    key: str  # as sent
    channel: str
    contact: str
    status: str | None  # None: a groups-only update
    groups: tuple[tuple[str, str], ...] = ()


# Parsers are slow (tens of microseconds); a service sees the same contacts again and again.
@lru_cache(maxsize=100_000)
def _email(raw: str) -> tuple[str | None, str | None]:
    return normalize_email(raw)


@lru_cache(maxsize=100_000)
def _phone(raw: str, region: str) -> tuple[str | None, str | None]:
    return normalize_phone(raw, region)


def status_of(raw: Any) -> str | None:
    spelling = raw.strip().lower() if isinstance(raw, str) else None
    return spelling if spelling in STATUSES else None


def known_type(raw: Any) -> str | None:
    """The lower-case channel or push type, for a spelling in Segment's enum (any case)."""
    if not isinstance(raw, str):
        return None
    kind = raw.strip().lower()
    return kind if kind in CHANNELS or kind in PUSH_TYPES else None


def normalize_key(channel: str, raw: str, region: str) -> tuple[str | None, str | None]:
    return _email(raw) if channel == "email" else _phone(raw, region)


def key_error_code(channel: str) -> str:
    return RecordError.INVALID_EMAIL if channel == "email" else RecordError.INVALID_PHONE


def _shape_errors(index: int, item: Any, *, with_status: bool) -> list[ApiError]:
    where = f"subscriptions[{index}]"
    if not isinstance(item, dict):
        return [ApiError(422, "INVALID_REQUEST", "an entry must be an object", where, index)]
    errors = []
    if not isinstance(item.get("key"), str):
        message = "key must be a string (an email or a phone number)"
        errors.append(ApiError(422, RecordError.MISSING_IDENTIFIER, message, f"{where}.key", index))
    if with_status and known_type(item.get("type")) is None:
        errors.append(ApiError(422, RecordError.INVALID_CHANNEL, TYPE_HINT, f"{where}.type", index))
    if not with_status and not isinstance(item.get("type"), str):
        message = "type must be a string"
        errors.append(ApiError(422, RecordError.INVALID_CHANNEL, message, f"{where}.type", index))
    if with_status:
        errors += _status_errors(index, item)
    return errors


def _status_errors(index: int, item: dict) -> list[ApiError]:
    where = f"subscriptions[{index}]"
    errors = []
    if item.get("status") is not None and status_of(item["status"]) is None:
        errors.append(
            ApiError(
                422, RecordError.INVALID_SUBSCRIPTION_STATUS, STATUS_HINT, f"{where}.status", index
            )
        )
    groups = item.get("groups")
    if groups is None:
        return errors
    if not isinstance(groups, list):
        message = "groups must be a list"
        return [
            *errors,
            ApiError(422, RecordError.INVALID_GROUP, message, f"{where}.groups", index),
        ]
    for position, group in enumerate(groups):
        field = f"{where}.groups[{position}]"
        if not isinstance(group, dict) or not isinstance(group.get("name"), str):
            message = "a group needs a name"
            errors.append(ApiError(422, RecordError.INVALID_GROUP, message, field, index))
        elif status_of(group.get("status")) is None:
            code = RecordError.INVALID_SUBSCRIPTION_STATUS
            errors.append(ApiError(422, code, STATUS_HINT, f"{field}.status", index))
    return errors


def judge_entry(index: int, item: Any, region: str) -> Entry | Rejected | list[ApiError]:
    """A PUT entry: valid, rejected on its own, or shape errors that refuse the request."""
    shape = _shape_errors(index, item, with_status=True)
    if shape:
        return shape
    key, kind = item["key"], known_type(item["type"])
    assert kind is not None
    answered_type = kind.upper()
    if kind in PUSH_TYPES:
        problem = (UNSUPPORTED_CHANNEL, f"{answered_type} subscriptions are not supported here")
        return Rejected(index, key, answered_type, (problem,))
    channel = kind
    problems: list[tuple[str, str]] = []
    contact, why = normalize_key(channel, key, region)
    if contact is None:
        problems.append((key_error_code(channel), why or "invalid"))
    groups = tuple(
        (group["name"].strip(), status_of(group["status"])) for group in item.get("groups") or []
    )
    if groups and channel != "email":
        problems.append((RecordError.INVALID_GROUP, "groups exist for EMAIL only"))
    if any(not name for name, _ in groups):
        problems.append((RecordError.INVALID_GROUP, "a group needs a name"))
    status = status_of(item.get("status"))
    if status is None and not groups:
        message = "an entry needs a status, groups, or both"
        problems.append((RecordError.INVALID_SUBSCRIPTION_STATUS, message))
    if problems:
        return Rejected(index, key, answered_type, tuple(problems), contact)
    assert contact is not None
    return Entry(index, key, channel, contact, status, groups)  # type: ignore[arg-type]


def judge_lookup(index: int, item: Any, region: str) -> tuple[str, str] | Rejected | list[ApiError]:
    """A batch query entry: (channel, contact), rejected on its own (type echoed exactly as
    sent, as Segment's failures do), or shape errors."""
    shape = _shape_errors(index, item, with_status=False)
    if shape:
        return shape
    key, raw_type = item["key"], item["type"]
    kind = known_type(raw_type)
    if kind is None:
        return Rejected(index, key, raw_type, ((RecordError.INVALID_CHANNEL, TYPE_HINT),))
    if kind in PUSH_TYPES:
        message = f"{kind.upper()} subscriptions are not supported here"
        return Rejected(index, key, raw_type, ((UNSUPPORTED_CHANNEL, message),))
    channel = kind
    contact, why = normalize_key(channel, key, region)
    if contact is None:
        return Rejected(index, key, raw_type, ((key_error_code(channel), why or "invalid"),))
    return channel, contact
