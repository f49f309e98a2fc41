"""The service's answer: the snapshot's state, then the inbox entries it does not hold yet,
folded with the package's replay step (resolve/step.py), the very rule code of the resolution's
reference fold.

Inbox entries are replayed in SPEC 3 order as the reconcile will store them: effective time (the
acceptance time), status rank, source (the request id), inbox `seq` as the row number, the
channel before its groups. The answer assumes each request comes after everything the snapshot
holds; an input dated later than the request (a future CSV upload time) is replayed in its true
place by the next reconcile.
"""

from __future__ import annotations

from collections.abc import Iterable

from subscription_pipeline.api.inbox import StoredEntry
from subscription_pipeline.api.published_state import Vector
from subscription_pipeline.resolve.step import Observation, StepResult, VectorState, step
from subscription_pipeline.vocabulary import STATUS_RANK


def replay_order(entry: StoredEntry) -> tuple:
    return (
        entry.accepted_at,
        STATUS_RANK[entry.status],
        entry.request_id,
        entry.seq,
        entry.subscription_group is not None,
        entry.subscription_group or "",
    )


def fold_entries(
    base: dict[Vector, VectorState], entries: Iterable[StoredEntry]
) -> tuple[dict[Vector, VectorState], dict[int, StepResult]]:
    """(state of every touched vector, the step result of each entry by seq)."""
    states = dict(base)
    results: dict[int, StepResult] = {}
    for entry in sorted(entries, key=replay_order):
        vector = (entry.channel, entry.contact)
        result = step(
            states.get(vector, VectorState()),
            Observation(
                channel=entry.channel,
                status=entry.status,
                source_kind="api",
                effective_at=entry.accepted_at,
                subscription_group=entry.subscription_group,
                source_ref=entry.request_id,
            ),
        )
        states[vector] = result.state
        results[entry.seq] = result
    return states, results
