"""The replay SQL of a git revision (e.g. text tie-breakers) against this checkout's, by CPU time.

python scripts/profile/replay_sort_keys.py WAREHOUSE.duckdb BEFORE_REVISION [ROUNDS]

On a copy of the warehouse, the full scope's observations are materialised once; then, in
alternating rounds, ordered.sql + history.sql + state.sql of the revision and of the checkout
run on the same input. Wall and CPU seconds (all DuckDB threads) per statement, and a digest
of resolution_steps, which must be equal. CPU time is the steadier figure on a shared machine.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from subscription_pipeline.resolve import engine
from subscription_pipeline.warehouse.connection import connect

FILES = ("ordered.sql", "history.sql", "state.sql")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _sql_at(revision: str, name: str) -> str:
    return subprocess.run(
        ["git", "show", f"{revision}:subscription_pipeline/resolve/{name}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def main() -> None:
    revision = sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    here = resources.files("subscription_pipeline.resolve")
    versions = {
        revision: {name: _sql_at(revision, name) for name in FILES},
        "checkout": {name: here.joinpath(name).read_text() for name in FILES},
    }
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "w.duckdb"
        shutil.copy(sys.argv[1], copy)
        con = connect(copy)
        engine._ENGINE.run(con, "vectors_all")
        con.execute(
            "CREATE TEMP TABLE resolution_input AS SELECT o.*, v.vid "
            "FROM effective_observations o JOIN resolution_vectors v "
            "ON v.channel = o.channel AND v.contact = o.contact"
        )
        totals: dict[str, list[float]] = {}
        for _ in range(rounds):
            for label, sql in versions.items():
                con.execute("BEGIN TRANSACTION")
                con.execute("DELETE FROM subscription_state")  # state.sql inserts the scope again
                cells = []
                for name in FILES:
                    wall, cpu = time.perf_counter(), _cpu()
                    con.execute(sql[name], engine._ORDER_PARAMS if name == "ordered.sql" else None)
                    cells.append(
                        f"{name} {time.perf_counter() - wall:5.2f} s {_cpu() - cpu:5.2f} cpu"
                    )
                    totals.setdefault(f"{label} {name}", []).append(_cpu() - cpu)
                [(steps, digest)] = con.execute(
                    "SELECT count(*), sum(hash(vid, seq, cascade_order, subscription_group, "
                    "outcome, reason, status_after, locked_after, replay_step)) % 1000000007 "
                    "FROM resolution_steps"
                ).fetchall()
                con.execute("ROLLBACK")
                print(f"{label:10.10s} " + " | ".join(cells) + f" | steps {steps} digest {digest}")
        for key, values in totals.items():
            print(f"min cpu {key}: {min(values):.2f} s")


if __name__ == "__main__":
    main()
