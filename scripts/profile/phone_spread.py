"""Serial vs spread phone parsing on every raw phone a warehouse's cache holds (wall seconds).

    python scripts/profile/phone_spread.py WAREHOUSE.duckdb

Same process, same values, alternating twice; also checks that both give identical results.
"""

from __future__ import annotations

import sys
import time

from cached_values import cached_raw_values  # this folder is on sys.path when run as a script

from subscription_pipeline.normalize import parse_values, parse_values_spread


def main() -> None:
    values = cached_raw_values(sys.argv[1], "phone")
    results = {}
    for name, parse in (("serial", parse_values), ("spread", parse_values_spread)) * 2:
        started = time.perf_counter()
        results[name] = parse("phone", values, "US")
        print(f"{name} {len(values):,} values: {time.perf_counter() - started:.1f} s wall")
    print("identical" if results["serial"] == results["spread"] else "DIFFERENT")


if __name__ == "__main__":
    main()
