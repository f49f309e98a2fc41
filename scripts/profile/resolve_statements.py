"""Wall seconds and peak RSS of each statement of a full resolution, on a copy of a warehouse.

python scripts/profile/resolve_statements.py WAREHOUSE.duckdb [MEMORY_LIMIT]
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from timed_connection import TimedConnection  # this folder is on sys.path when run as a script

from subscription_pipeline.resolve import engine
from subscription_pipeline.warehouse.connection import connect


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "w.duckdb"
        shutil.copy(sys.argv[1], copy)
        con = connect(copy, memory_limit=sys.argv[2] if len(sys.argv) > 2 else None)
        started = time.perf_counter()
        print(engine.resolve_all(TimedConnection(con)))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"total {time.perf_counter() - started:.1f} s, peak RSS {peak} MiB")


if __name__ == "__main__":
    main()
