"""Recording a PUT in the inbox and answering it; reading the current state. No HTTP here."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from subscription_pipeline.api.answer import fold_entries, outcome_json, slot_json
from subscription_pipeline.api.inbox import (
    NewEntry,
    entries_after,
    find_request,
    inbox_path,
    insert_entries,
    insert_request,
    next_accepted_at,
    open_inbox,
)
from subscription_pipeline.api.snapshot import SnapshotReader, Vector, snapshot_path
from subscription_pipeline.api.validate import Entry
from subscription_pipeline.api.writer import GroupCommitWriter
from subscription_pipeline.erasure.api_support import (
    SuppressionList,
    ensure_inbox_tables,
    record_request_evidence,
    record_suppressed,
    suppressed_item,
)
from subscription_pipeline.resolve.step import StepResult, VectorState

log = logging.getLogger("subscription_pipeline.api")


class IdempotencyKeyReused(ValueError):
    """The Idempotency-Key was already used for a different body."""


class SubscriptionService:
    def __init__(self, data_dir: Path) -> None:
        self.inbox_file = inbox_path(data_dir)
        self.snapshots = SnapshotReader(snapshot_path(data_dir))
        self._local = threading.local()
        # One writer thread (group commit) rather than writers contending in SQLite, whose busy
        # handler sleeps in steps of up to 100 ms instead of waking when the lock is free.
        self.suppressions = SuppressionList(data_dir)
        inbox = open_inbox(self.inbox_file)
        try:
            ensure_inbox_tables(inbox)
        finally:
            inbox.close()
        self._writer = GroupCommitWriter(self.inbox_file)

    def close(self) -> None:
        self._writer.close()

    def _inbox(self) -> sqlite3.Connection:
        # One connection per worker thread: sqlite3 connections are not shared across threads.
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = open_inbox(self.inbox_file)
        return con

    async def put(
        self,
        space_id: str,
        entries: list[Entry],
        body_sha256: str,
        idempotency_key: str | None,
        evidence: dict[str, str | None] | None = None,
    ) -> str:
        """Record the entries durably (fsynced) and return the JSON answer, once per key.

        Runs on the event loop (the lookup is a binary search in memory) and awaits the writer
        thread: no worker-thread hop, which costs a scheduler wait on a busy machine.
        """
        snapshot = self.snapshots.current()
        # Erased contacts: answered SUPPRESSED, never recorded (docs/consent.md).
        suppressed = self.suppressions.suppressed([entry.contact for entry in entries])
        all_entries, entries = entries, [e for e in entries if e.contact not in suppressed]
        vectors = [(entry.channel, entry.contact) for entry in entries]
        base = {vector: known.state for vector, known in snapshot.lookup(vectors).items()}

        def record(con: sqlite3.Connection) -> tuple[str, str, list[dict[str, Any]]]:
            if idempotency_key is not None:
                found = find_request(con, space_id, idempotency_key)
                if found is not None:
                    if found[0] != body_sha256:
                        raise IdempotencyKeyReused(idempotency_key)
                    return "", found[1], []
            accepted_at = next_accepted_at(con, datetime.now(UTC).replace(tzinfo=None))
            request_id = f"req_{uuid.uuid4().hex}"
            new = observations_of(entries)
            seqs = insert_entries(con, request_id, accepted_at, new)
            # The request's own entries are in the transaction, so they are folded too.
            pending = entries_after(con, vectors, snapshot.inbox_through_seq)
            states, results = fold_entries(base, pending)
            answer = build_answer(entries, new, seqs, states, results)
            record_request_evidence(con, request_id, evidence)
            if suppressed:
                left_out = [e for e in all_entries if e.contact in suppressed]
                record_suppressed(
                    con,
                    request_id,
                    accepted_at,
                    [(e.index, e.channel, 1 + len(e.groups)) for e in left_out],
                )
                answer = [
                    item
                    for _, item in sorted(
                        [(e.index, a) for e, a in zip(entries, answer, strict=True)]
                        + [(e.index, suppressed_item(e.channel)) for e in left_out],
                        key=lambda pair: pair[0],
                    )
                ]
            response = json.dumps({"data": {"subscriptions": answer}}, separators=(",", ":"))
            insert_request(
                con,
                request_id=request_id,
                space_id=space_id,
                idempotency_key=idempotency_key,
                body_sha256=body_sha256,
                accepted_at=accepted_at,
                response=response,
            )
            return request_id, response, answer

        committed = asyncio.wrap_future(self._writer.submit(record))
        request_id, response, answer = await committed
        if not request_id:
            log.info("replayed an answered request (same Idempotency-Key)")
            return response
        # Counts only: never a contact in the logs.
        outcomes = Counter(item.get("reason", item["outcome"]) for item in answer)
        log.info("accepted %s: %d entries, %s", request_id, len(entries), dict(outcomes))
        return response

    def current(self, vectors: list[Vector]) -> dict[Vector, VectorState]:
        """The state of each known vector: the snapshot plus the inbox entries after it."""
        snapshot = self.snapshots.current()
        # An erased contact is unknown at once, before the next run purges the snapshot.
        suppressed = self.suppressions.suppressed([contact for _, contact in vectors])
        vectors = [vector for vector in vectors if vector[1] not in suppressed]
        base = {vector: known.state for vector, known in snapshot.lookup(vectors).items()}
        con = self._inbox()
        con.execute("BEGIN")  # one read snapshot of the inbox for all vectors
        try:
            pending = entries_after(con, vectors, snapshot.inbox_through_seq)
        finally:
            con.execute("COMMIT")
        states, _ = fold_entries(base, pending)
        return {vector: states[vector] for vector in vectors if vector in states}


def observations_of(entries: list[Entry]) -> list[NewEntry]:
    """One observation per entry and per group: the channel first, groups by name."""
    new = []
    for entry in entries:
        new.append(NewEntry(entry.index, entry.channel, entry.contact, None, entry.status))
        new += [
            NewEntry(entry.index, entry.channel, entry.contact, name, status)
            for name, status in sorted(entry.groups)
        ]
    return new


def build_answer(
    entries: list[Entry],
    new: list[NewEntry],
    seqs: list[int],
    states: dict[Vector, VectorState],
    results: dict[int, StepResult],
) -> list[dict[str, Any]]:
    """Per entry: the vector's resulting state, and the outcome of each of its own steps."""
    seq_of = {(n.item_index, n.subscription_group): seq for n, seq in zip(new, seqs, strict=True)}
    items = []
    for entry in entries:
        state = states[(entry.channel, entry.contact)]
        groups = [
            {
                "name": name,
                **slot_json(state.groups[name]),
                **outcome_json(results[seq_of[(entry.index, name)]]),
            }
            for name, _ in entry.groups
        ]
        items.append(
            {
                "key": entry.contact,
                "type": entry.channel.upper(),
                **slot_json(state.channel),
                "locked": state.locked,
                **outcome_json(results[seq_of[(entry.index, None)]]),
                "groups": groups,
            }
        )
    return items
