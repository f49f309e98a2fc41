"""The answers' items in the shapes of Segment's SDK models (segment-public-api).

- PUT item (`MessageSubscriptionResponse`): `key` as sent, `type`, `status` and `updatedAt` of
  the channel after the request, `groups` (`{id, name, status, updatedAt}`), `errors`.
- Batch success (`GetMessagingSubscriptionSuccessResponse`): the same without `errors`;
  `status` is absent for a contact with no state. Batch failure: `{key, type, errors}`.

Extra fields the SDK ignores: `index` (the entry's position in the request), `normalizedKey`,
`locked`, `outcome`/`reason` (the entry's own replay step), `source`.
A group with no status yet (only a blocked subscribe ever named it) is left out of `groups`:
Segment's group status is required; the blocked step is in the entry's `errors`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from subscription_pipeline.api.validate import Entry, Rejected
from subscription_pipeline.resolve.step import Slot, StepResult, VectorState

# Group ids are UUID v5 of the group name in this namespace: the same name gets the same id in
# every answer, after every reconcile and on every machine, with nothing stored.
GROUP_ID_NAMESPACE = uuid.UUID("6f1f3c8e-2b1d-5a4e-9c57-2f0c1a7d9e41")

MESSAGES = {
    "UNABLE_TO_SUBSCRIBE": "this number replied STOP: only a START from the number itself can "
    "subscribe it again",
    "GLOBAL_STATE_NOT_SUBSCRIBED": "a group can be subscribed only while the email is subscribed",
}


def group_id(name: str) -> str:
    return str(uuid.uuid5(GROUP_ID_NAMESPACE, name))


def iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat() + "Z"


def _slot(slot: Slot) -> dict[str, Any]:
    """`status` and `updatedAt`, both left out while the slot has no status."""
    if slot.status is None:
        return {}
    return {"status": slot.status.upper(), "updatedAt": iso(slot.status_at)}


def group_json(name: str, slot: Slot) -> dict[str, Any]:
    return {"id": group_id(name), "name": name, **_slot(slot)}


def outcome_json(result: StepResult) -> dict[str, Any]:
    """`outcome` always; `reason` when the step was blocked or ignored."""
    if result.reason is None:
        return {"outcome": result.outcome}
    return {"outcome": result.outcome, "reason": result.reason}


def blocked_errors(
    channel: StepResult | None, groups: list[tuple[str, StepResult]]
) -> list[dict[str, str]]:
    """One error per blocked step of the entry (channel first, then groups in request order)."""
    errors = []
    if channel is not None and channel.outcome == "blocked":
        code = channel.reason or "BLOCKED"
        errors.append({"code": code, "message": MESSAGES.get(code, code)})
    for name, result in groups:
        if result.outcome == "blocked":
            code = result.reason or "BLOCKED"
            errors.append({"code": code, "message": f"group {name!r}: {MESSAGES.get(code, code)}"})
    return errors


def put_item(
    entry: Entry,
    state: VectorState,
    channel: StepResult | None,
    groups: list[tuple[str, StepResult]],
) -> dict[str, Any]:
    """The answer to one recorded entry; `errors` is empty unless a step was blocked."""
    answered_groups = [
        {**group_json(name, state.groups[name]), **outcome_json(result)}
        for name, result in groups
        if state.groups[name].status is not None
    ]
    item: dict[str, Any] = {
        "index": entry.index,
        "key": entry.key,
        "normalizedKey": entry.contact,
        "type": entry.channel.upper(),
        **_slot(state.channel),
        "locked": state.locked,
        "groups": answered_groups,
        "errors": blocked_errors(channel, groups),
    }
    if channel is not None:
        item.update(outcome_json(channel))
    return item


def rejected_item(rejected: Rejected) -> dict[str, Any]:
    """An entry refused on its own (nothing recorded): a PUT failure or a batch failure."""
    item: dict[str, Any] = {"index": rejected.index, "key": rejected.key, "type": rejected.type}
    if rejected.contact is not None:
        item["normalizedKey"] = rejected.contact
    item["errors"] = [{"code": code, "message": message} for code, message in rejected.errors]
    item["outcome"] = "rejected"
    return item


def lookup_item(
    index: int, key: str, channel: str, contact: str, state: VectorState | None
) -> dict[str, Any]:
    """A batch success: the current state, or no `status` for a contact never seen."""
    item: dict[str, Any] = {
        "index": index,
        "key": key,
        "normalizedKey": contact,
        "type": channel.upper(),
    }
    if state is None:
        return {**item, "groups": []}
    return {
        **item,
        **_slot(state.channel),
        "locked": state.locked,
        "source": state.channel.source,
        "groups": [
            group_json(name, slot) for name, slot in state.groups.items() if slot.status is not None
        ],
    }
