"""`subscription-pipeline forget`: record erasures or a lift, then apply them if the warehouse
is free (else the next run does). Prints hashes and counts, never a contact."""

from __future__ import annotations

import csv
import getpass
import sys
from dataclasses import dataclass
from pathlib import Path

from subscription_pipeline import paths
from subscription_pipeline.erasure import registry
from subscription_pipeline.erasure.apply import apply_erasures, compact_and_publish
from subscription_pipeline.erasure.keyed_hash import (
    ErasureSecretMissing,
    contact_hash,
    load_secret,
)
from subscription_pipeline.erasure.search import find_in_files, find_in_warehouse
from subscription_pipeline.erasure.spellings import contact_spellings
from subscription_pipeline.ingest.ledger_file import ledger_file
from subscription_pipeline.resolve.explain import normalize_contact
from subscription_pipeline.warehouse.connection import WarehouseLockedError, connect_engine


@dataclass(frozen=True)
class ErasureRequest:
    contact: str  # normalised
    reason: str | None
    spellings: list[str]


def requested_by() -> str:
    try:
        return "os:" + getpass.getuser()
    except (KeyError, OSError):
        return "os:unknown"


def clean_reason(reason: str | None, spellings: list[str]) -> str | None:
    """The audit keeps the reason, never the contact: a reason naming it is cut at that point."""
    if reason and any(s in reason.lower() for s in spellings):
        return "[reason withheld: it named the contact]"
    return reason


def parse_request(given: str, reason: str | None, region: str) -> ErasureRequest | str:
    """The request, or why the contact is not one (never echoing it)."""
    normalized, problem = normalize_contact(given.strip(), region)
    if normalized is None:
        return f"not a valid email address or phone number ({problem})"
    spellings = sorted({*contact_spellings(normalized), given.strip().lower()})
    return ErasureRequest(normalized, clean_reason(reason, spellings), spellings)


def read_request_file(path: Path, region: str) -> tuple[list[ErasureRequest], list[str]]:
    """erasures.csv: a `contact` column, an optional `reason` column; (requests, errors)."""
    requests: list[ErasureRequest] = []
    errors: list[str] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        fields = [name.strip().lower() for name in reader.fieldnames or []]
        if "contact" not in fields:
            return [], [f"{path}: the header needs a `contact` column (and may have `reason`)"]
        reader.fieldnames = fields
        for row_number, row in enumerate(reader, start=1):
            parsed = parse_request(row.get("contact") or "", row.get("reason") or None, region)
            if isinstance(parsed, str):
                errors.append(f"{path} row {row_number}: {parsed}")
            else:
                requests.append(parsed)
    return requests, errors


def run_forget(
    data_dir: Path,
    warehouse: Path,
    region: str,
    *,
    contact: str | None,
    reason: str | None,
    file: Path | None,
    lift: str | None,
    wait_seconds: float,
) -> int:
    try:
        secret = load_secret()
    except ErasureSecretMissing as exc:
        print(f"forget refused: {exc}", file=sys.stderr)
        return 2
    errors: list[str] = []
    if lift is not None:
        parsed = parse_request(lift, reason, region)
        if isinstance(parsed, str):
            print(f"forget --lift: {parsed}", file=sys.stderr)
            return 2
        digest = contact_hash(parsed.contact, secret)
        with registry.open_registry(data_dir) as reg:
            registry.check_secret(reg, secret)
            lifted = registry.record_lift(reg, digest, requested_by(), parsed.reason)
        if not lifted:
            print(f"no suppression in force for hash {digest[:16]}", file=sys.stderr)
            return 1
        print(f"lifted the suppression {digest[:16]}: new observations count again")
        requests: list[ErasureRequest] = []
    elif file is not None:
        requests, errors = read_request_file(file, region)
    else:
        parsed = parse_request(contact or "", reason, region)
        if isinstance(parsed, str):
            print(f"forget: {parsed}", file=sys.stderr)
            return 2
        requests = [parsed]
    with registry.open_registry(data_dir) as reg:
        registry.check_secret(reg, secret)
        for request in requests:
            digest = contact_hash(request.contact, secret)
            registry.record_forget(reg, request.contact, digest, requested_by(), request.reason)
            print(f"recorded erasure {digest[:16]}: suppressed from now on")
    for error in errors:
        print(error, file=sys.stderr)
    status = _apply_now(data_dir, warehouse, requests, wait_seconds)
    return 1 if errors else status


def _apply_now(
    data_dir: Path, warehouse: Path, requests: list[ErasureRequest], wait_seconds: float
) -> int:
    try:
        con = connect_engine(warehouse, lock_timeout=wait_seconds)
    except WarehouseLockedError:
        print(
            "the warehouse is busy (a run holds it): the purge is queued and the next run "
            "applies it before anything else; the suppression is in force already"
        )
        return 0
    try:
        applied_now = apply_erasures(con, data_dir, warehouse)
        if applied_now:
            con.close()
            con = compact_and_publish(
                warehouse, lambda: connect_engine(warehouse, lock_timeout=wait_seconds)
            )
        for applied in applied_now:
            counts = applied.counts
            print(
                f"applied erasure {applied.contact_hash[:16]}: {counts.observations} "
                f"observations and {counts.records} records left out, "
                f"{counts.cleared_values} other values cleared, {len(applied.files)} files "
                "rewritten"
            )
        spellings = sorted({s for request in requests for s in request.spellings})
        remaining = find_in_warehouse(con, spellings) if spellings else []
    finally:
        con.close()
    extra = [warehouse, paths.engine_warehouse(warehouse), ledger_file(warehouse)]
    files = find_in_files(data_dir, spellings, extra=extra) if spellings else []
    for table, column, rows in remaining:
        print(f"still found in {table}.{column}: {rows} rows", file=sys.stderr)
    for path in files:
        print(f"still found in {path}", file=sys.stderr)
    return 1 if remaining or files else 0
