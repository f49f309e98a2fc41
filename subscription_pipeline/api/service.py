"""Recording a PUT in the inbox and answering it; reading the current state. No HTTP here."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from subscription_pipeline.api.answer import fold_entries
from subscription_pipeline.api.context import RequestContext
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
from subscription_pipeline.api.published_state import SnapshotReader, Vector, snapshot_path
from subscription_pipeline.api.shapes import put_item, rejected_item
from subscription_pipeline.api.validate import Entry, Rejected
from subscription_pipeline.api.writer import GroupCommitWriter
from subscription_pipeline.erasure.api_support import (
    SUPPRESSED,
    SuppressionList,
    ensure_inbox_tables,
    record_request_evidence,
    record_suppressed,
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
        context: RequestContext,
        space_id: str,
        judged: list[Entry | Rejected],
        body_sha256: str,
        idempotency_key: str | None,
    ) -> str:
        """Record the valid entries durably (fsynced) and return the JSON answer, once per key.

        Rejected entries are answered in `failures` and not recorded. The request is recorded
        under `context.request_id`; `context` also names the client and its address (evidence).
        Runs on the event loop (the lookup is a binary search in memory) and awaits the writer
        thread: no worker-thread hop, which costs a scheduler wait on a busy machine.
        """
        entries = [entry for entry in judged if isinstance(entry, Entry)]
        snapshot = self.snapshots.current()
        # Erased contacts: a failure SUPPRESSED without the key, never recorded (docs/consent.md).
        suppressed = self.suppressions.suppressed([entry.contact for entry in entries])
        left_out = [entry for entry in entries if entry.contact in suppressed]
        if left_out:
            gone = {entry.index for entry in left_out}
            judged = [
                suppressed_rejection(e) if isinstance(e, Entry) and e.index in gone else e
                for e in judged
            ]
            entries = [entry for entry in entries if entry.contact not in suppressed]
        vectors = [(entry.channel, entry.contact) for entry in entries]
        base = {vector: known.state for vector, known in snapshot.lookup(vectors).items()}

        def record(con: sqlite3.Connection) -> tuple[str, str, dict[str, list]]:
            if idempotency_key is not None:
                found = find_request(con, space_id, idempotency_key)
                if found is not None:
                    if found[0] != body_sha256:
                        raise IdempotencyKeyReused(idempotency_key)
                    return "", found[1], {}
            accepted_at = next_accepted_at(con, datetime.now(UTC).replace(tzinfo=None))
            new = observations_of(entries)
            seqs = insert_entries(con, context.request_id, accepted_at, new)
            # The request's own entries are in the transaction, so they are folded too.
            pending = entries_after(con, vectors, snapshot.inbox_through_seq)
            states, results = fold_entries(base, pending)
            answer = build_answer(judged, new, seqs, states, results)
            evidence = {"client": context.client, "remote_addr": context.remote_addr}
            record_request_evidence(con, context.request_id, evidence)
            if left_out:
                record_suppressed(
                    con,
                    context.request_id,
                    accepted_at,
                    [(e.index, e.channel, 1 + len(e.groups)) for e in left_out],
                )
            response = json.dumps({"data": answer}, separators=(",", ":"))
            insert_request(
                con,
                request_id=context.request_id,
                space_id=space_id,
                idempotency_key=idempotency_key,
                body_sha256=body_sha256,
                accepted_at=accepted_at,
                response=response,
            )
            return context.request_id, response, answer

        committed = asyncio.wrap_future(self._writer.submit(record))
        request_id, response, answer = await committed
        if not request_id:
            log.info("%s replayed an answered request (same Idempotency-Key)", context.request_id)
            return response
        # Counts only: never a contact in the logs.
        items = answer["successes"] + answer["failures"]
        outcomes = Counter(item.get("reason", item.get("outcome", "groups")) for item in items)
        log.info(
            "accepted %s: %d entries, %d recorded, %d failures, %s",
            request_id,
            len(judged),
            len(entries),
            len(answer["failures"]),
            dict(outcomes),
        )
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


def suppressed_rejection(entry: Entry) -> Rejected:
    """An entry of an erased contact: refused on its own, its key not repeated anywhere (the
    answer and the response stored for retries hold neither key nor normalised contact)."""
    message = "this contact was erased and is suppressed: nothing was recorded"
    return Rejected(entry.index, "[suppressed]", entry.channel.upper(), ((SUPPRESSED, message),))


def observations_of(entries: list[Entry]) -> list[NewEntry]:
    """One observation per status and per group: the channel first, groups by name."""
    new = []
    for entry in entries:
        if entry.status is not None:
            new.append(NewEntry(entry.index, entry.channel, entry.contact, None, entry.status))
        new += [
            NewEntry(entry.index, entry.channel, entry.contact, name, status)
            for name, status in sorted(entry.groups)
        ]
    return new


def build_answer(
    judged: list[Entry | Rejected],
    new: list[NewEntry],
    seqs: list[int],
    states: dict[Vector, VectorState],
    results: dict[int, StepResult],
) -> dict[str, list[dict[str, Any]]]:
    """`successes` and `failures` in request order: an entry is a success when every step it
    asked for took effect (applied, or ignored as already so); a blocked step or a rejected
    entry makes it a failure (SPEC 2.3)."""
    seq_of = {(n.item_index, n.subscription_group): seq for n, seq in zip(new, seqs, strict=True)}
    successes, failures = [], []
    for entry in judged:
        if isinstance(entry, Rejected):
            failures.append(rejected_item(entry))
            continue
        channel_seq = seq_of.get((entry.index, None))
        channel = None if channel_seq is None else results[channel_seq]
        groups = [(name, results[seq_of[(entry.index, name)]]) for name, _ in entry.groups]
        item = put_item(entry, states[(entry.channel, entry.contact)], channel, groups)
        (failures if item["errors"] else successes).append(item)
    return {"successes": successes, "failures": failures}
