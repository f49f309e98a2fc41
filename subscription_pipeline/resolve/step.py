"""One replay step of SPEC 3 in plain Python: (vector state, observation) -> outcome and new state.

The SQL engine replays whole tables with window passes; this is the same rule written one
observation at a time. It is the only Python implementation of the rules: the reference fold of
the tests (tests/reference_fold.py, checked against the SQL by hypothesis properties) and the
API service (which answers before the next reconcile) both call `step`.
Blank observations take no part in the replay: callers only register them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from subscription_pipeline.errors import Reason

DECIDED = ("subscribed", "unsubscribed")


@dataclass(frozen=True)
class Slot:
    """The state of a channel or of one email group: what the last applied observation said."""

    status: str | None = None
    status_at: datetime | None = None
    source: str | None = None  # source kind: csv | event | keyword | api | cascade
    source_ref: str | None = None


@dataclass(frozen=True)
class VectorState:
    """One (channel, contact): its channel slot, the STOP lock, its known groups (in order)."""

    channel: Slot = Slot()
    locked: bool = False
    groups: dict[str, Slot] = field(default_factory=dict)


@dataclass(frozen=True)
class Observation:
    """What the step reads of an observation; `status` is never None here."""

    channel: str
    status: str
    source_kind: str  # csv | event | keyword | api
    effective_at: datetime
    subscription_group: str | None = None
    source_ref: str | None = None


@dataclass(frozen=True)
class StepResult:
    outcome: str  # applied | ignored | blocked
    reason: str | None
    state: VectorState
    status_after: str | None  # the observation's own channel or group state after the step
    # Groups a channel-level email unsubscribe cascaded to, in name order.
    cascaded: tuple[str, ...] = ()


def step(state: VectorState, o: Observation) -> StepResult:
    """Apply one status-bearing observation to a vector's state (SPEC 3 replay rules)."""
    if o.subscription_group is None:
        return _channel_step(state, o)
    return _group_step(state, o)


def _applied(o: Observation, status: str, kind: str) -> Slot:
    return Slot(status=status, status_at=o.effective_at, source=kind, source_ref=o.source_ref)


def _channel_decision(state: VectorState, o: Observation) -> tuple[str, str | None]:
    if o.source_kind == "keyword":
        return "applied", None
    g = state.channel.status
    event_dns = o.source_kind == "event" and o.status == "did_not_subscribe"
    unlocked_applies = not (event_dns and g in DECIDED)
    if state.locked:
        # Judged by the unlocked rules: a change is blocked, anything else ignored.
        if unlocked_applies and o.status != g:
            return "blocked", Reason.UNABLE_TO_SUBSCRIBE.value
        if event_dns and g in DECIDED:
            return "ignored", Reason.DNS_AFTER_DECISION.value
        return "ignored", Reason.LOCKED_NO_CHANGE.value
    if unlocked_applies:
        return "applied", None
    return "ignored", Reason.DNS_AFTER_DECISION.value


def _channel_step(state: VectorState, o: Observation) -> StepResult:
    outcome, reason = _channel_decision(state, o)
    if outcome != "applied":
        return StepResult(outcome, reason, state, state.channel.status)
    locked = (o.status == "unsubscribed") if o.source_kind == "keyword" else state.locked
    groups = state.groups
    cascaded: tuple[str, ...] = ()
    if o.channel == "email" and o.status == "unsubscribed":
        # Every group known at this moment, whatever its status, in name order.
        cascaded = tuple(sorted(groups))
        groups = {name: _applied(o, "unsubscribed", "cascade") for name in groups}
    new = VectorState(channel=_applied(o, o.status, o.source_kind), locked=locked, groups=groups)
    return StepResult(outcome, reason, new, o.status, cascaded)


def _group_step(state: VectorState, o: Observation) -> StepResult:
    name = o.subscription_group
    assert name is not None
    entry = state.groups.get(name, Slot())  # a status-bearing observation registers its group
    event_dns = o.source_kind == "event" and o.status == "did_not_subscribe"
    reason = None
    if o.status == "subscribed" and state.channel.status != "subscribed":
        outcome, reason = "blocked", Reason.GLOBAL_STATE_NOT_SUBSCRIBED.value
    elif event_dns and entry.status in DECIDED:
        outcome, reason = "ignored", Reason.DNS_AFTER_DECISION.value
    else:
        outcome = "applied"
        entry = _applied(o, o.status, o.source_kind)
    groups = {**state.groups, name: entry}
    new = replace(state, groups=groups)
    return StepResult(outcome, reason, new, entry.status)
