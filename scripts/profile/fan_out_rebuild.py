"""A full rebuild in process against the same rebuild as bucket steps on N worker processes.

python scripts/profile/fan_out_rebuild.py WAREHOUSE.duckdb BUCKETS WORKERS [MEMORY_LIMIT]
Every vector is queued (as after re-ingesting everything), on a copy of the warehouse; prints
the wall time of each phase and checks both give the same tables.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from subscription_pipeline.resolve import engine, fan_out
from subscription_pipeline.warehouse.connection import connect

DIGEST = "SELECT count(*), sum(hash(columns(*))) FROM {}"  # table names below, not data


def _digest(con) -> list:
    return [
        con.execute(DIGEST.format(table)).fetchall()
        for table in ("subscription_state", "subscription_history")
    ]


def _queue_everything(con) -> None:
    con.execute("INSERT INTO dirty_vectors SELECT DISTINCT channel, contact FROM observations")


def main() -> None:
    source, count, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    memory = sys.argv[4] if len(sys.argv) > 4 else None
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        copy = root / "w.duckdb"
        shutil.copy(source, copy)
        con = connect(copy, memory_limit=memory)
        _queue_everything(con)
        started = time.perf_counter()
        summary = engine.resolve_pending(con)
        print(f"in process: {time.perf_counter() - started:.1f} s, {summary}")
        expected = _digest(con)

        _queue_everything(con)
        started = time.perf_counter()
        plan = fan_out.plan_fan_out(con, root, count=count)
        exported = time.perf_counter()
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(fan_out.compute_bucket, [root] * count, plan.remaining, [memory] * count))
        computed = time.perf_counter()
        fan_out.load_buckets(con, root)
        loaded = time.perf_counter()
        print(
            f"fan-out {count} buckets on {workers} workers (rebuild={plan.rebuild}): "
            f"export {exported - started:.1f} s, bucket steps {computed - exported:.1f} s, "
            f"load {loaded - computed:.1f} s, total {loaded - started:.1f} s"
        )
        assert _digest(con) == expected, "the fan-out wrote other tables"
        print("same tables")


if __name__ == "__main__":
    main()
