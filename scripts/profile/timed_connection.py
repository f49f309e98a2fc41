"""A DuckDB connection wrapper that prints how long each `execute` took (profiling only)."""

from __future__ import annotations

import time


class TimedConnection:
    """Forwards to a DuckDB connection and prints how long each execute took."""

    def __init__(self, con) -> None:
        self._con = con

    def execute(self, sql, *args):
        started = time.perf_counter()
        result = self._con.execute(sql, *args)
        label = " ".join(sql.split())[:70]
        print(f"{time.perf_counter() - started:7.2f}  {label}", flush=True)
        return result

    def __getattr__(self, name):
        return getattr(self._con, name)
