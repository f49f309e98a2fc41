"""A deliberately plain Python fold of SPEC 3: the reference the SQL engine is checked against.

It walks each contact vector's observations one by one in replay order, the way the contract is
written, with no cleverness. Each step is `subscription_pipeline.resolve.step.step`, the one
Python implementation of the rules, which the API service runs too: the properties comparing
the SQL with this fold therefore check the service's rule code. Input: observation dicts
with the columns of table `observations`; output: state and history rows as dicts with the
columns of subscription_state and subscription_history.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from subscription_pipeline.resolve.step import Observation, Slot, VectorState, step
from subscription_pipeline.vocabulary import SOURCE_RANK, STATUS_RANK

Row = dict[str, Any]


def _slot(slot: Slot) -> Row:
    return {
        "status": slot.status,
        "status_at": slot.status_at,
        "source": slot.source,
        "source_ref": slot.source_ref,
    }


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
    state = VectorState()
    history: list[Row] = []

    def record(o: Row, group: str | None, outcome: str, reason: str | None, after: Any) -> None:
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
                "locked_after": state.locked,
                "evidence": o.get("evidence"),
            }
        )

    for o in rows:
        if o["status"] is None:
            continue  # blanks only register
        # The rule itself is the package's: the one the API service runs too.
        result = step(
            state,
            Observation(
                channel=channel,
                status=o["status"],
                source_kind=o["source_kind"],
                effective_at=o["effective_at"],
                subscription_group=o["subscription_group"],
                source_ref=source_ref(o),
            ),
        )
        state = result.state
        record(o, o["subscription_group"], result.outcome, result.reason, result.status_after)
        for name in result.cascaded:
            record(o, name, "cascade", None, "unsubscribed")

    user_id = None
    for o in rows:
        if o["user_id"] is not None:
            user_id = o["user_id"]
    out = [
        {
            "channel": channel,
            "contact": contact,
            "subscription_group": None,
            **_slot(state.channel),
            "locked": state.locked,
            "user_id": user_id,
            "first_seen_at": min(o["effective_at"] for o in rows),
            "last_seen_at": max(o["effective_at"] for o in rows),
        }
    ]
    for name, entry in state.groups.items():
        seen = [o["effective_at"] for o in rows if o["subscription_group"] == name]
        out.append(
            {
                "channel": channel,
                "contact": contact,
                "subscription_group": name,
                **_slot(entry),
                "locked": state.locked,
                "user_id": user_id,
                "first_seen_at": min(seen),
                "last_seen_at": max(seen),
            }
        )
    return out, history
