"""Wall, peak RSS and peak spill (DuckDB temp files) of a full rebuild, on a copy of a warehouse.

python scripts/profile/rebuild_spill.py WAREHOUSE.duckdb MEMORY_LIMIT [OBSERVATIONS_PER_BUCKET]
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from subscription_pipeline.resolve import engine
from subscription_pipeline.warehouse.connection import connect


def _size(folder: Path) -> int:
    try:
        return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    except FileNotFoundError:  # a temp file removed while listing
        return 0


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "w.duckdb"
        shutil.copy(sys.argv[1], copy)
        con = connect(copy, memory_limit=sys.argv[2])
        if len(sys.argv) > 3:
            engine.REBUILD_BUCKET_OBSERVATIONS = int(sys.argv[3])
        spill, done = [0], threading.Event()

        def sample() -> None:  # the temp directory beside the file, as connect() sets it
            while not done.wait(0.1):
                spill[0] = max(spill[0], _size(Path(folder) / ".duckdb_tmp"))

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        try:
            summary = engine.resolve_all(con)
        finally:
            done.set()
            sampler.join()
        wall = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(summary)
        print(f"wall {wall:.1f} s, peak RSS {peak} MiB, peak spill {spill[0] >> 20} MiB")


if __name__ == "__main__":
    main()
