"""Wall seconds of each piece of a nightly run (one new log day) on a copy of a warehouse.

    python scripts/profile/nightly_steps.py WAREHOUSE.duckdb DATA_DIR DAY

DATA_DIR must hold the new day's logs (YYYY-MM-DD); the copy ingests that day, then runs what
the Dagster steps run after it: the resolution with its report bookkeeping, the API snapshot,
the exports. Outputs go to a temporary folder.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from timed_connection import TimedConnection  # this folder is on sys.path when run as a script

from subscription_pipeline.api.published_state import publish_snapshot
from subscription_pipeline.export import export_state
from subscription_pipeline.ingest.event_logs import ingest_log_day
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.reconciliation_report import (
    capture_before,
    record_snapshot,
    record_transitions,
)
from subscription_pipeline.resolve.engine import resolve_pending
from subscription_pipeline.warehouse.connection import connect


@contextmanager
def step(name: str):
    started = time.perf_counter()
    yield
    print(f"{time.perf_counter() - started:7.2f}  {name}", flush=True)


def main() -> None:
    warehouse, data_dir, day = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "w.duckdb"
        shutil.copy(warehouse, copy)
        con = connect(copy)
        run_at = datetime.now(UTC).replace(tzinfo=None)
        with step("ingest_log_day"):
            ingest_log_day(con, data_dir, day, IngestSettings())
        with step("capture_before"):
            capture_before(con)
        with step("resolve_pending"):
            print(resolve_pending(TimedConnection(con)))
        with step("record_transitions"):
            record_transitions(TimedConnection(con), run_at)
        with step("record_snapshot"):
            record_snapshot(con, run_at)
        with step("publish_snapshot"):
            publish_snapshot(TimedConnection(con), Path(folder))
        with step("export_state"):
            export_state(TimedConnection(con), Path(folder) / "exports", state_formats=("parquet",))


if __name__ == "__main__":
    main()
