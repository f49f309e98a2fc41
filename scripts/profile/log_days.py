"""Wall seconds of each received day of an event-log ingestion, and of its main statements.

    python scripts/profile/log_days.py LANDING_ZONE [MEMORY_LIMIT]

Every day of the landing zone through `log_prefetch.ingest_log_days` (the next day read while
one is stored, as a reconcile does) into a new warehouse in a temporary folder; one line per
day, with the seconds of that day's statements as `log_ingest.py` times them.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import log_ingest  # this folder is on sys.path when run as a script

from subscription_pipeline.ingest import event_logs, log_prefetch
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.warehouse.connection import connect

SHOWN = ("lines", "read: DuckDB fast path", "normalise keys", "insert_observations",
         "insert_evidence", "judged", "candidates")  # fmt: skip


def main() -> None:
    log_ingest._instrument()
    landing = Path(sys.argv[1])
    memory_limit = sys.argv[2] if len(sys.argv) > 2 else None
    with tempfile.TemporaryDirectory() as folder:
        con = connect(Path(folder) / "w.duckdb", memory_limit=memory_limit)
        days = event_logs.list_log_days(landing)
        before, started, total = dict(log_ingest.STEPS_WALL), time.perf_counter(), 0.0
        for day, _ in log_prefetch.ingest_log_days(con, landing, days, IngestSettings()):
            now, seconds = dict(log_ingest.STEPS_WALL), time.perf_counter() - started
            steps = ", ".join(f"{k} {now.get(k, 0) - before.get(k, 0):.2f}" for k in SHOWN)
            print(f"{day}: {seconds:.1f} s ({steps})", flush=True)
            total += seconds
            before, started = now, time.perf_counter()
        con.close()
    print(f"all days: {total:.1f} s")


if __name__ == "__main__":  # the spawned phone parsers import this module again
    main()
