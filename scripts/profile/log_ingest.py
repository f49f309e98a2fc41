"""Event-log ingestion against DuckDB's bare scan and a plain DuckDB script, in one run.

    python scripts/profile/log_ingest.py LANDING_ZONE [--warehouse FILE]

The two baselines are bench.py's own scripts (child processes); the engine runs here: every
received day through `ingest_log_day`, then `resolve_pending`. Wall and CPU seconds are both
reported: on a shared machine the CPU seconds are the steadier measure. The ingestion's own
statements are then listed by CPU seconds, to show where the time goes.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from subscription_pipeline.ingest import event_logs, log_prefetch, log_sql, log_stage
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.resolve.engine import resolve_pending
from subscription_pipeline.warehouse.connection import connect

BENCH = Path(__file__).resolve().parent.parent / "bench.py"
STEPS: collections.Counter[str] = collections.Counter()
STEPS_WALL: collections.Counter[str] = collections.Counter()


def _bench_scripts() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return {"duckdb_scan": bench.DUCKDB_SCAN, "duckdb_plain": bench.DUCKDB_PLAIN}


def _child(code: str, files: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *files], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return time.perf_counter() - started, cpu


def _timed(name: str, function: Callable) -> Callable:
    def wrapper(*args, **kwargs):
        started, wall = time.process_time(), time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            STEPS[name] += time.process_time() - started
            STEPS_WALL[name] += time.perf_counter() - wall

    return wrapper


def _instrument() -> None:
    run = log_sql.run
    log_sql.run = lambda con, name, params=None: _timed(name, run)(con, name, params)
    log_stage._stage_fast = _timed("read: DuckDB fast path", log_stage._stage_fast)
    log_stage._stage_slow = _timed("read: Python slow path", log_stage._stage_slow)
    event_logs._normalise_keys = _timed("normalise keys", event_logs._normalise_keys)
    log_stage._sha256 = _timed("read: sha256 of the files", log_stage._sha256)
    event_logs.stage_files = _timed("read: all (stage_files)", event_logs.stage_files)
    event_logs.mark_dirty_observations = _timed("mark dirty", event_logs.mark_dirty_observations)
    event_logs.clear_partition = _timed("clear partition", event_logs.clear_partition)
    event_logs.write_ledger_entry = _timed("ledger", event_logs.write_ledger_entry)
    event_logs._record_odd_folders = _timed("odd folders", event_logs._record_odd_folders)
    event_logs.ingest_log_day = _timed("ingest_log_day (all)", event_logs.ingest_log_day)
    log_prefetch.ingest_log_day = _timed("ingest_log_day (prefetched)", log_prefetch.ingest_log_day)
    log_prefetch.stage_files = _timed("read: all, ahead (stage_files)", log_prefetch.stage_files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("--warehouse", type=Path, default=None)
    parser.add_argument("--skip-baselines", action="store_true", help="the engine only")
    parser.add_argument("--no-prefetch", action="store_true", help="read each day in turn")
    args = parser.parse_args()
    files = sorted(str(p) for p in (args.landing / "segment-logs").rglob("*.gz"))
    baselines = {} if args.skip_baselines else _bench_scripts()
    rows = [(name, *_child(code, files)) for name, code in baselines.items()]

    _instrument()
    warehouse = args.warehouse or Path(tempfile.mkdtemp()) / "warehouse.duckdb"
    warehouse.unlink(missing_ok=True)
    con = connect(warehouse)
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        days = event_logs.list_log_days(args.landing)
        if args.no_prefetch:
            for day in days:
                event_logs.ingest_log_day(con, args.landing, day, IngestSettings())
        else:
            for _ in log_prefetch.ingest_log_days(con, args.landing, days, IngestSettings()):
                pass
        rows.append(("ingest", time.perf_counter() - wall, time.process_time() - cpu))
        resolve_pending(con)
        rows.append(("ingest_and_resolve", time.perf_counter() - wall, time.process_time() - cpu))
    finally:
        con.close()

    scan = {name: (w, c) for name, w, c in rows}.get("duckdb_scan", (1.0, 1.0))
    print(f"{len(files)} files in {args.landing}")
    print("| stage | wall s | CPU s | wall / scan | CPU / scan |")
    print("|---|---:|---:|---:|---:|")
    for name, w, c in rows:
        print(f"| {name} | {w:.2f} | {c:.2f} | {w / scan[0]:.2f} | {c / scan[1]:.2f} |")
    print("\n| ingestion step | wall s | CPU s |\n|---|---:|---:|")
    for name, seconds in STEPS_WALL.most_common():
        if seconds >= 0.01:
            print(f"| {name} | {seconds:.2f} | {STEPS[name]:.2f} |")


if __name__ == "__main__":
    main()
