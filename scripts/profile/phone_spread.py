"""Serial vs spread phone parsing on every raw phone a warehouse's cache holds (wall seconds).

    python scripts/profile/phone_spread.py WAREHOUSE.duckdb

Same process, same values, alternating twice; also checks that both give identical results.
"""

from __future__ import annotations

import sys
import time

import duckdb

from subscription_pipeline.normalize import parse_values, parse_values_spread


def main() -> None:
    con = duckdb.connect(sys.argv[1], read_only=True)
    values = [
        raw
        for (raw,) in con.execute(
            "SELECT raw FROM normalized_identifiers WHERE kind = 'phone'"
        ).fetchall()
    ]
    con.close()
    results = {}
    for name, parse in (("serial", parse_values), ("spread", parse_values_spread)) * 2:
        started = time.perf_counter()
        results[name] = parse("phone", values, "US")
        print(f"{name} {len(values):,} values: {time.perf_counter() - started:.1f} s wall")
    print("identical" if results["serial"] == results["spread"] else "DIFFERENT")


if __name__ == "__main__":
    main()
