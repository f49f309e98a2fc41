"""`export --consent-records DIR`: one JSON consent record per contact vector (SPEC 4).

The fields follow the consent record of ISO/IEC TS 27560, in the project's own words:
- `record_id`, `generated_at`, `pipeline` (name and version): which record, made by what;
- `subject`: the contact vector (channel and contact) and its user id - the PII principal;
- `purpose`: marketing messages on that channel (the processing the consent is for);
- `state`: the current consent state of the channel and of each email group, each with
  `set_by`, the applied step that set it, with its evidence (how, when, where, which words);
- `history`: every change asked for, in replay order, applied or not, with its evidence;
  the reason of a step that was not applied says which rule decided.
Built in SQL, streamed in batches: a file per vector, written to a temporary name and renamed.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import duckdb

RECORD_SCHEMA = "subscription-pipeline consent record 1 (after ISO/IEC TS 27560)"
_BATCH = 1_000

# The step fields a record shows; `evidence` is the stored JSON, embedded as JSON.
_RECORDS_SQL = """
WITH steps AS (
    SELECT
        channel, contact, subscription_group, replay_step, outcome,
        {
            'step': replay_step,
            'group': subscription_group,
            'effective_at': strftime(effective_at, '%Y-%m-%dT%H:%M:%S.%fZ'),
            'source': source_kind,
            'reference': source_ref,
            'asked_status': observed_status,
            'outcome': outcome,
            'reason': reason,
            'status_after': status_after,
            'locked_after': locked_after,
            'evidence': json(evidence)
        } AS step
    FROM subscription_history
),
set_by AS (
    SELECT channel, contact, subscription_group, arg_max(step, replay_step) AS step
    FROM steps WHERE outcome = 'applied'
    GROUP BY ALL
),
history AS (
    SELECT channel, contact, list(step ORDER BY replay_step) AS history
    FROM steps GROUP BY ALL
),
state AS (
    SELECT
        s.channel, s.contact, any_value(s.user_id) AS user_id,
        list({
            'group': s.subscription_group,
            'status': s.status,
            'status_at': strftime(s.status_at, '%Y-%m-%dT%H:%M:%S.%fZ'),
            'locked': s.locked,
            'first_seen_at': strftime(s.first_seen_at, '%Y-%m-%dT%H:%M:%S.%fZ'),
            'last_seen_at': strftime(s.last_seen_at, '%Y-%m-%dT%H:%M:%S.%fZ'),
            'set_by': b.step
        } ORDER BY s.subscription_group NULLS FIRST) AS state
    FROM subscription_state s
    LEFT JOIN set_by b
        ON b.channel = s.channel AND b.contact = s.contact
        AND b.subscription_group IS NOT DISTINCT FROM s.subscription_group
    GROUP BY ALL
)
SELECT
    s.channel,
    s.contact,
    to_json({
        'record_schema': $schema,
        'record_id': $prefix || sha256(s.channel || ':' || s.contact),
        'generated_at': $generated_at,
        'pipeline': {'name': 'subscription-pipeline', 'version': $version},
        'subject': {'channel': s.channel, 'contact': s.contact, 'user_id': s.user_id},
        'purpose': 'marketing messages by ' || s.channel,
        'state': s.state,
        'history': coalesce(h.history, [])
    })::VARCHAR AS record
FROM state s
LEFT JOIN history h ON h.channel = s.channel AND h.contact = s.contact
ORDER BY s.channel, s.contact
"""


def pipeline_version() -> str:
    try:
        return metadata.version("subscription-pipeline")
    except metadata.PackageNotFoundError:
        return "unknown"


def record_file_name(channel: str, contact: str) -> str:
    """Named by a digest, not the address: listing the folder shows no contact."""
    return f"{channel}-{hashlib.sha256(f'{channel}:{contact}'.encode()).hexdigest()[:32]}.json"


def export_consent_records(con: duckdb.DuckDBPyConnection, out_dir: Path) -> int:
    """Write one record per contact vector of the state into out_dir; return how many."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cursor = con.execute(
        _RECORDS_SQL,
        {
            "schema": RECORD_SCHEMA,
            "prefix": "urn:subscription-pipeline:consent-record:",
            "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "version": pipeline_version(),
        },
    )
    written = 0
    while batch := cursor.fetchmany(_BATCH):
        for channel, contact, record in batch:
            target = out_dir / record_file_name(channel, contact)
            partial = target.with_name(f".{target.name}.partial")
            partial.write_text(record + "\n", encoding="utf-8")
            os.replace(partial, target)
            written += 1
    return written
