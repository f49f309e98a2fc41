"""Wall seconds per ingestion statement, parser and resolution of the engine on a landing zone.

    python scripts/profile/engine_stages.py LANDING_ZONE WAREHOUSE.duckdb

Wraps the engine's functions with timers (no Dagster), runs run_engine, prints the totals.
"""

from __future__ import annotations

import collections
import resource
import sys
import time
from pathlib import Path
from types import ModuleType

import subscription_pipeline.ingest.log_prefetch as log_prefetch
import subscription_pipeline.ingest.log_sql as log_sql
import subscription_pipeline.ingest.log_stage as log_stage
import subscription_pipeline.normalize as normalize
from subscription_pipeline import direct_run

TOTALS: collections.Counter[str] = collections.Counter()


def timed(module: ModuleType, name: str, label: str | None = None, key_arg: int | None = None):
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            key = (label or name) + (f":{args[key_arg]}" if key_arg is not None else "")
            TOTALS[key] += time.perf_counter() - started

    setattr(module, name, wrapper)


def main() -> None:
    timed(log_sql, "run", key_arg=1)
    timed(log_sql, "frame", key_arg=1)
    timed(normalize, "parse_values", key_arg=0)
    timed(log_stage, "stage_files", "read_day (overlaps the previous day's store)")
    timed(log_prefetch, "ingest_log_day", "total_log_days (store)")
    timed(direct_run, "ingest_log_days", "total_log_days (read and store)")
    timed(direct_run, "ingest_upload", "total_csv_uploads")
    timed(direct_run, "resolve_pending", "total_resolve")
    timed(direct_run, "publish", "publish")
    started = time.perf_counter()
    print(direct_run.run_engine(Path(sys.argv[1]), Path(sys.argv[2])))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"wall {time.perf_counter() - started:.1f} s, peak RSS {peak} MiB")
    for key, seconds in TOTALS.most_common():
        print(f"{key:45s} {seconds:8.2f}")


if __name__ == "__main__":
    main()
