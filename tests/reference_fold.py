"""A deliberately plain Python fold of SPEC 3: the reference the SQL engine is checked against.

It walks each contact vector's observations one by one in replay order and keeps the state in
ordinary variables, the way the contract is written, with no cleverness. Input: observation dicts
with the columns of table `observations`; output: state and history rows as dicts with the
columns of subscription_state and subscription_history.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from subscription_pipeline.vocabulary import SOURCE_RANK, STATUS_RANK

DECIDED = ("subscribed", "unsubscribed")
Row = dict[str, Any]


def _nulls_last(value: Any) -> tuple:
    return (0, value) if value is not None else (1,)


def replay_key(o: Row) -> tuple:
    """SPEC 3 items 1-6, then every other column so that the order is total."""
    status_rank = -1 if o["status"] is None else STATUS_RANK[o["status"]]
    return (
        o["effective_at"],
        status_rank,
        SOURCE_RANK[o["source_kind"]],
        _nulls_last(o["source"]),
        _nulls_last(o["row_number"]),
        o["subscription_group"] is not None,
        _nulls_last(o["subscription_group"]),
        _nulls_last(o["source_file"]),
        _nulls_last(o["message_id"]),
        _nulls_last(o["partition_key"]),
        _nulls_last(o["user_id"]),
        _nulls_last(o["anonymous_id"]),
        _nulls_last(o["received_at"]),
    )


def source_ref(o: Row) -> str | None:
    if o["source_kind"] == "csv":
        parts = (o["source_file"], o["row_number"])
        return None if None in parts else f"{o['source_file']}:{o['row_number']}"
    if o["source_kind"] == "api":
        return o["source"]
    parts = (o["source_file"], o["message_id"])
    return None if None in parts else f"{o['source_file']}#{o['message_id']}"


def fold(observations: list[Row]) -> tuple[list[Row], list[Row]]:
    """(state rows, history rows) of every vector in `observations`."""
    vectors: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for o in observations:
        if o["subscription_group"] is not None and o["status"] is None:
            continue  # a blank group status registers nothing
        vectors[(o["channel"], o["contact"])].append(o)
    state: list[Row] = []
    history: list[Row] = []
    for (channel, contact), rows in vectors.items():
        vector_state, vector_history = _fold_vector(channel, contact, sorted(rows, key=replay_key))
        state.extend(vector_state)
        history.extend(vector_history)
    return state, history


def _fold_vector(channel: str, contact: str, rows: list[Row]) -> tuple[list[Row], list[Row]]:
    channel_state: Row = {"status": None, "status_at": None, "source": None, "source_ref": None}
    locked = False
    groups: dict[str, Row] = {}  # registered groups, in registration order
    history: list[Row] = []

    def step(o: Row, group: str | None, outcome: str, reason: str | None, after: Any) -> None:
        history.append(
            {
                "channel": channel,
                "contact": contact,
                "subscription_group": group,
                "replay_step": len(history) + 1,
                "effective_at": o["effective_at"],
                "source_kind": o["source_kind"] if outcome != "cascade" else "cascade",
                "source": o["source"],
                "source_ref": source_ref(o),
                "source_file": o["source_file"],
                "row_number": o["row_number"],
                "message_id": o["message_id"],
                "user_id": o["user_id"],
                "observed_status": o["status"] if outcome != "cascade" else "unsubscribed",
                "outcome": outcome if outcome != "cascade" else "applied",
                "reason": reason,
                "status_after": after,
                "locked_after": locked,
            }
        )

    def apply(target: Row, o: Row, status: str, kind: str) -> None:
        target.update(status=status, status_at=o["effective_at"], source=kind)
        target["source_ref"] = source_ref(o)

    for o in rows:
        status, kind, group = o["status"], o["source_kind"], o["subscription_group"]
        if status is None:
            continue  # blanks only register
        event_dns = kind == "event" and status == "did_not_subscribe"
        if group is None:
            g = channel_state["status"]
            reason = None
            if kind == "keyword":
                outcome = "applied"
            else:
                unlocked_applies = not (event_dns and g in DECIDED)
                if locked:
                    if unlocked_applies and status != g:
                        outcome, reason = "blocked", "UNABLE_TO_SUBSCRIBE"
                    elif event_dns and g in DECIDED:
                        outcome, reason = "ignored", "DNS_AFTER_DECISION"
                    else:
                        outcome, reason = "ignored", "LOCKED_NO_CHANGE"
                elif unlocked_applies:
                    outcome = "applied"
                else:
                    outcome, reason = "ignored", "DNS_AFTER_DECISION"
            if outcome == "applied":
                apply(channel_state, o, status, kind)
                if kind == "keyword":
                    locked = status == "unsubscribed"
            step(o, None, outcome, reason, channel_state["status"])
            if outcome == "applied" and channel == "email" and status == "unsubscribed":
                for name in sorted(groups):  # every group known at that moment
                    apply(groups[name], o, "unsubscribed", "cascade")
                    step(o, name, "cascade", None, "unsubscribed")
        else:
            entry = groups.setdefault(
                group, {"status": None, "status_at": None, "source": None, "source_ref": None}
            )
            reason = None
            if status == "subscribed" and channel_state["status"] != "subscribed":
                outcome, reason = "blocked", "GLOBAL_STATE_NOT_SUBSCRIBED"
            elif event_dns and entry["status"] in DECIDED:
                outcome, reason = "ignored", "DNS_AFTER_DECISION"
            else:
                outcome = "applied"
                apply(entry, o, status, kind)
            step(o, group, outcome, reason, entry["status"])

    user_id = None
    for o in rows:
        if o["user_id"] is not None:
            user_id = o["user_id"]
    state = [
        {
            "channel": channel,
            "contact": contact,
            "subscription_group": None,
            **channel_state,
            "locked": locked,
            "user_id": user_id,
            "first_seen_at": min(o["effective_at"] for o in rows),
            "last_seen_at": max(o["effective_at"] for o in rows),
        }
    ]
    for name, entry in groups.items():
        seen = [o["effective_at"] for o in rows if o["subscription_group"] == name]
        state.append(
            {
                "channel": channel,
                "contact": contact,
                "subscription_group": name,
                **entry,
                "locked": locked,
                "user_id": user_id,
                "first_seen_at": min(seen),
                "last_seen_at": max(seen),
            }
        )
    return state, history
