"""Old vs new `parse_values` on every raw value a warehouse's normalisation cache holds.

    git show REV:subscription_pipeline/normalize.py > /tmp/old_normalize.py
    python scripts/profile/normalisation_ab.py WAREHOUSE.duckdb /tmp/old_normalize.py

Same process, same values, CPU seconds; also checks that both give identical results.
"""

from __future__ import annotations

import importlib.util
import sys
import time

from cached_values import cached_raw_values  # this folder is on sys.path when run as a script

from subscription_pipeline import normalize as new


def main() -> None:
    spec = importlib.util.spec_from_file_location("old_normalize", sys.argv[2])
    old = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old)
    for kind in ("email", "phone"):
        values = cached_raw_values(sys.argv[1], kind)
        results = {}
        for name, module in (("old", old), ("new", new)):
            started = time.process_time()
            results[name] = module.parse_values(kind, values, "US")
            print(f"{kind} {name} {len(values)} values: cpu {time.process_time() - started:.1f} s")
        print(kind, "identical" if results["old"] == results["new"] else "DIFFERENT")


if __name__ == "__main__":
    main()
