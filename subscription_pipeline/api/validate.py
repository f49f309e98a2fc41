"""Judging each API entry with ingestion's rules and codes (SPEC 2.2 and 2.4)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from subscription_pipeline.errors import RecordError
from subscription_pipeline.normalize import DEFAULT_REGION, normalize_email, normalize_phone
from subscription_pipeline.vocabulary import CHANNELS, STATUSES

STATUS_HINT = "expected SUBSCRIBED, UNSUBSCRIBED or DID_NOT_SUBSCRIBE"


@dataclass(frozen=True)
class EntryError:
    index: int
    field: str
    code: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True)
class Entry:
    """A valid entry: normalised contact, canonical statuses, groups by trimmed name."""

    index: int
    channel: str
    contact: str
    status: str
    groups: tuple[tuple[str, str], ...] = ()


# Parsers are slow (tens of microseconds); a service sees the same contacts again and again.
@lru_cache(maxsize=100_000)
def _email(raw: str) -> tuple[str | None, str | None]:
    return normalize_email(raw)


@lru_cache(maxsize=100_000)
def _phone(raw: str, region: str) -> tuple[str | None, str | None]:
    return normalize_phone(raw, region)


def channel_of(raw: Any) -> str | None:
    spelling = raw.strip().lower() if isinstance(raw, str) else None
    return spelling if spelling in CHANNELS else None


def status_of(raw: Any) -> str | None:
    spelling = raw.strip().lower() if isinstance(raw, str) else None
    return spelling if spelling in STATUSES else None


def normalize_key(channel: str, raw: Any, region: str) -> tuple[str | None, str | None]:
    if not isinstance(raw, str):
        return None, "key is missing or not a string"
    return _email(raw) if channel == "email" else _phone(raw, region)


def key_error_code(channel: str) -> str:
    return RecordError.INVALID_EMAIL if channel == "email" else RecordError.INVALID_PHONE


def judge_key(index: int, raw_key: Any, raw_type: Any, region: str) -> tuple[str, str] | EntryError:
    """(channel, contact) or the first defect of the type or the key."""
    field = f"subscriptions[{index}]"
    channel = channel_of(raw_type)
    if channel is None:
        return EntryError(
            index, f"{field}.type", RecordError.INVALID_CHANNEL, "expected EMAIL, SMS or WHATSAPP"
        )
    contact, problem = normalize_key(channel, raw_key, region)
    if contact is None:
        return EntryError(index, f"{field}.key", key_error_code(channel), problem or "invalid")
    return channel, contact


def judge_entry(index: int, item: Any, region: str = DEFAULT_REGION) -> Entry | list[EntryError]:
    """A valid Entry, or every defect of this entry (each with its field and code)."""
    field = f"subscriptions[{index}]"
    errors: list[EntryError] = []
    vector = judge_key(index, item.key, item.type, region)
    if isinstance(vector, EntryError):
        errors.append(vector)
    status = status_of(item.status)
    if status is None:
        errors.append(
            EntryError(
                index, f"{field}.status", RecordError.INVALID_SUBSCRIPTION_STATUS, STATUS_HINT
            )
        )
    groups: list[tuple[str, str]] = []
    if item.groups is not None:
        errors += _judge_groups(index, item.groups, vector, groups)
    if errors:
        return errors
    assert isinstance(vector, tuple) and status is not None
    return Entry(index, vector[0], vector[1], status, tuple(groups))


def _judge_groups(
    index: int, raw: Any, vector: tuple[str, str] | EntryError, out: list[tuple[str, str]]
) -> list[EntryError]:
    field = f"subscriptions[{index}].groups"
    if not isinstance(raw, list):
        return [EntryError(index, field, RecordError.INVALID_GROUP, "groups must be a list")]
    if raw and isinstance(vector, tuple) and vector[0] != "email":
        return [EntryError(index, field, RecordError.INVALID_GROUP, "groups exist for EMAIL only")]
    errors = []
    for position, group in enumerate(raw):
        name = group.get("name") if isinstance(group, dict) else None
        where = f"{field}[{position}]"
        if not isinstance(name, str) or not name.strip():
            errors.append(
                EntryError(index, where, RecordError.INVALID_GROUP, "a group needs a name")
            )
            continue
        status = status_of(group.get("status"))
        if status is None:
            errors.append(
                EntryError(index, where, RecordError.INVALID_SUBSCRIPTION_STATUS, STATUS_HINT)
            )
            continue
        out.append((name.strip(), status))
    return errors
