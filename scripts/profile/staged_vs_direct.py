"""Wall seconds of ingesting a landing zone directly into a warehouse vs staged then loaded.

    python scripts/profile/staged_vs_direct.py LANDING_ZONE [--rounds 2]

Each path works on its own copy of the zone (staging writes DATA_DIR/staging, both mark the
inbox). Round 1 starts from an empty warehouse; later rounds re-ingest every upload, so the
direct path's normalisation cache is warm while a staged upload parses its keys again (it holds
no cache): that is what staging costs an upload. Prints seconds per kind and phase.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from subscription_pipeline.erasure.apply import copy_registry_suppressions
from subscription_pipeline.ingest.api_inbox import ingest_inbox_day
from subscription_pipeline.ingest.csv_upload import ingest_upload, list_uploads
from subscription_pipeline.ingest.event_logs import ingest_log_day, list_log_days
from subscription_pipeline.ingest.inbox_pending import pending_inbox_days
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.ingest.staged_inbox import stage_inbox_day
from subscription_pipeline.ingest.staged_load import load_staged
from subscription_pipeline.ingest.staged_logs import stage_log_day
from subscription_pipeline.ingest.staged_uploads import stage_upload
from subscription_pipeline.warehouse.connection import connect


def _timed(totals: Counter[str], key: str, call, *args) -> None:
    started = time.perf_counter()
    call(*args)
    totals[key] += time.perf_counter() - started


def direct(zone: Path, rounds: int) -> Counter[str]:
    totals: Counter[str] = Counter()
    settings, inbox = IngestSettings(), pending_inbox_days(zone)
    con = connect(zone / "warehouse.duckdb")
    try:
        copy_registry_suppressions(con, zone)
        for name in list_uploads(zone):
            _timed(totals, "1 uploads", ingest_upload, con, zone, name, settings)
        for day in list_log_days(zone):
            _timed(totals, "1 log days", ingest_log_day, con, zone, day, settings)
        for day in inbox:
            _timed(totals, "1 inbox days", ingest_inbox_day, con, zone, day)
        for round_ in range(2, rounds + 1):
            for name in list_uploads(zone):
                _timed(totals, f"{round_} uploads", ingest_upload, con, zone, name, settings)
    finally:
        con.close()
    return totals


def staged(zone: Path, rounds: int) -> Counter[str]:
    totals: Counter[str] = Counter()
    settings, inbox = IngestSettings(), pending_inbox_days(zone)
    for name in list_uploads(zone):
        _timed(totals, "1 uploads (stage)", stage_upload, zone, name, settings)
    for day in list_log_days(zone):
        _timed(totals, "1 log days (stage)", stage_log_day, zone, day, settings)
    for day in inbox:
        _timed(totals, "1 inbox days (stage)", stage_inbox_day, zone, day)
    con = connect(zone / "warehouse.duckdb")
    try:
        copy_registry_suppressions(con, zone)
        _timed(totals, "1 load (all kinds)", load_staged, con, zone)
        for round_ in range(2, rounds + 1):
            for name in list_uploads(zone):
                _timed(totals, f"{round_} uploads (stage)", stage_upload, zone, name, settings)
            _timed(totals, f"{round_} load (uploads)", load_staged, con, zone)
    finally:
        con.close()
    return totals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("zone", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        for label, path in (("direct", direct), ("staged", staged)):
            zone = Path(work) / label
            shutil.copytree(args.zone, zone, symlinks=True)
            totals = path(zone, args.rounds)
            for key in sorted(totals):
                print(f"{label:7} {key:28} {totals[key]:7.2f} s")
            print(f"{label:7} {'total':28} {sum(totals.values()):7.2f} s")


if __name__ == "__main__":
    main()
