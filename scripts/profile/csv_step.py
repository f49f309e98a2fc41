"""Wall seconds of the CSV step alone: every upload of a landing zone, ingested twice.

    python scripts/profile/csv_step.py LANDING_ZONE WAREHOUSE.duckdb [--no-evidence]

Round 1 starts from an empty normalisation cache (every key parsed), round 2 re-ingests with a
warm cache. Prints which code it ran (PYTHONPATH may point at an older checkout), the seconds
of each round and of its stages, and the peak RSS. `--no-evidence` stores NULL evidence, to
show what the evidence column costs.
"""

from __future__ import annotations

import collections
import resource
import sys
import time
from pathlib import Path
from types import ModuleType

import subscription_pipeline
import subscription_pipeline.ingest.csv_upload as csv_upload
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.warehouse.connection import connect

TOTALS: collections.Counter[str] = collections.Counter()


def timed(module: ModuleType, name: str) -> None:
    original = getattr(module, name, None)
    if original is None:  # an older layout of the code: that stage is not timed
        return

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            TOTALS[name] += time.perf_counter() - started

    setattr(module, name, wrapper)


def main() -> None:
    data, warehouse = Path(sys.argv[1]), Path(sys.argv[2])
    print("code:", Path(subscription_pipeline.__file__).parent)
    try:  # the new layout: judging in csv_outcome, storing in csv_upload
        import subscription_pipeline.ingest.csv_outcome as judged

        if "--no-evidence" in sys.argv:
            import polars as pl

            judged.evidence = lambda *_: pl.lit(None, dtype=pl.String)
        stages = [(judged, "parse_upload"), (judged, "judge_rows"), (csv_upload, "store_outcome")]
    except ImportError:  # the old layout: everything in csv_upload
        stages = [(csv_upload, "parse_upload"), (csv_upload, "judge_rows")]
        stages += [(csv_upload, "_write_rows"), (csv_upload, "clear_partition")]
    for module, name in stages:
        timed(module, name)
    con = connect(warehouse)
    for label in ("cold cache", "warm cache"):
        TOTALS.clear()
        started = time.perf_counter()
        rows = 0
        for name in csv_upload.list_uploads(data):
            rows += csv_upload.ingest_upload(con, data, name, IngestSettings()).rows_in
        stages_text = ", ".join(f"{key} {seconds:.1f}" for key, seconds in TOTALS.items())
        print(f"{label}: {rows} rows, {time.perf_counter() - started:.1f} s ({stages_text})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"peak RSS {peak} MiB")


if __name__ == "__main__":
    main()
