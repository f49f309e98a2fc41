"""`explain`: a contact's timeline, every replay step and the rule that decided it (SPEC 6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from subscription_pipeline.normalize import DEFAULT_REGION, normalize_email, normalize_phone
from subscription_pipeline.resolve.evidence import describe_evidence

_STEP_COLUMNS = ("step", "effective at (UTC)", "source", "reference", "status", "outcome", "state")
_READABLE_REASONS = {
    "UNABLE_TO_SUBSCRIBE": "locked by a STOP keyword",
    "LOCKED_NO_CHANGE": "locked, same status",
    "DNS_AFTER_DECISION": "did_not_subscribe after a decision",
    "GLOBAL_STATE_NOT_SUBSCRIBED": "email channel not subscribed",
}


def explain_contact(
    con: duckdb.DuckDBPyConnection,
    contact: str,
    channel: str | None = None,
    default_region: str = DEFAULT_REGION,
) -> str:
    """Human-readable timeline: normalise the given contact (email, else phone in default_region),
    then for each vector and group: every history step (time, source kind, source_ref, observed
    status, outcome, reason, state after), then the current state row. Says clearly when the
    contact is unknown."""
    normalized, problem = normalize_contact(contact, default_region)
    if normalized is None:
        return f"{contact!r} is neither a valid email address nor a valid phone number: {problem}"
    states = _rows(
        con,
        "SELECT * FROM subscription_state WHERE contact = ? AND (? IS NULL OR channel = ?) "
        "ORDER BY channel, subscription_group NULLS FIRST",
        [normalized, channel, channel],
    )
    history = _rows(
        con,
        "SELECT * FROM subscription_history WHERE contact = ? AND (? IS NULL OR channel = ?) "
        "ORDER BY channel, replay_step",
        [normalized, channel, channel],
    )
    (pending,) = con.execute(
        "SELECT count(*) FROM dirty_vectors WHERE contact = ? AND (? IS NULL OR channel = ?)",
        [normalized, channel, channel],
    ).fetchone()
    where = f" on {channel}" if channel else ""
    lines = [
        f"Contact {normalized}{where}"
        + (f" (given as {contact!r})" if contact != normalized else "")
    ]
    if pending:
        lines.append(
            "  Note: it has changes not resolved yet; run `subscription-pipeline reconcile`."
        )
    if not states:
        lines.append(f"  Unknown contact: no observation of {normalized}{where} has been resolved.")
        return "\n".join(lines)
    for state in states:
        lines.append("")
        lines.extend(_section(state, history))
    return "\n".join(lines)


def normalize_contact(contact: str, region: str = DEFAULT_REGION) -> tuple[str | None, str | None]:
    """(normalised contact, None) or (None, why): an email when it has an '@', else a phone."""
    if "@" in contact:
        return normalize_email(contact)
    return normalize_phone(contact, region)


def _section(state: dict[str, Any], history: list[dict[str, Any]]) -> list[str]:
    group = state["subscription_group"]
    title = f"{state['channel']}" + (f" / group {group}" if group else " (channel)")
    steps = [
        h for h in history if h["channel"] == state["channel"] and h["subscription_group"] == group
    ]
    lines = [title]
    if steps:
        lines.extend("  " + line for line in _table(steps))
    else:
        lines.append("  no status-bearing observation (registered by blank ones only)")
    lines.append("  now: " + _describe_state(state))
    return lines


def _table(steps: list[dict[str, Any]]) -> list[str]:
    """The steps as aligned columns, each followed by its evidence when it has any."""
    lines = _aligned(steps)
    out = lines[:1]
    for step, line in zip(steps, lines[1:], strict=True):
        out.append(line)
        if evidence := describe_evidence(step.get("evidence")):
            out.append("    evidence: " + evidence)
    return out


def _aligned(steps: list[dict[str, Any]]) -> list[str]:
    rows = [
        (
            str(s["replay_step"]),
            _when(s["effective_at"]),
            s["source_kind"],
            s["source_ref"] or "",
            s["observed_status"],
            s["outcome"]
            + (
                f": {s['reason']} ({_READABLE_REASONS.get(s['reason'], '')})" if s["reason"] else ""
            ),
            (s["status_after"] or "(none)") + (" [locked]" if s["locked_after"] else ""),
        )
        for s in steps
    ]
    widths = [max(len(r[i]) for r in [_STEP_COLUMNS, *rows]) for i in range(len(_STEP_COLUMNS))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [_STEP_COLUMNS, *rows]
    ]


def _describe_state(state: dict[str, Any]) -> str:
    if state["status"] is None:
        text = "no status"
    else:
        origin = f"{state['source']} {state['source_ref']}"
        text = f"{state['status']} since {_when(state['status_at'])} ({origin})"
    if state["locked"]:
        text += ", LOCKED (only an opt-in keyword such as START can change it)"
    if state["user_id"]:
        text += f", user_id {state['user_id']}"
    return text + f"; seen {_when(state['first_seen_at'])} .. {_when(state['last_seen_at'])}"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
