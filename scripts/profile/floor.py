"""The work a full reconcile cannot skip, measured apart, against the 2.5x-the-scan budget.

    python scripts/profile/floor.py LANDING_ZONE RESOLVED_WAREHOUSE.duckdb

Measured one after the other on this machine:
- the DuckDB-only scan of the log files (the bench's baseline, same script);
- the Dagster fixed cost: `reconcile` of an empty landing zone (start-up, the jobs, the steps);
- the CPU of normalising every distinct raw email and phone the warehouse saw (SPEC: emails
  validated, phones parsed by libphonenumber and valid), with the shortcuts the pipeline uses.
The sum, with the normalisation spread over both cores, is a lower bound of any full reconcile
that keeps the contract; the script prints it next to 2.5x the scan.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SCRIPTS))

from cached_values import cached_raw_values  # noqa: E402

from bench import BIN, DUCKDB_SCAN, REPO, log_files  # noqa: E402
from subscription_pipeline.normalize import parse_values  # noqa: E402

CORES = 2


def wall(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def empty_reconcile_seconds() -> float:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        home = root / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text((REPO / "dagster_home" / "dagster.yaml").read_text())
        landing = root / "landing"
        (landing / "segment-logs").mkdir(parents=True)
        (landing / "uploads").mkdir()
        env = os.environ | {"DAGSTER_HOME": str(home)}
        command = [str(BIN / "subscription-pipeline"), "reconcile", "--data-dir", str(landing)]
        return wall([*command, "--warehouse", str(root / "w.duckdb")], env)


def normalisation_cpu(warehouse: Path) -> dict[str, tuple[int, float]]:
    measured = {}
    for kind in ("email", "phone"):
        values = cached_raw_values(warehouse, kind)
        started = time.process_time()
        parse_values(kind, values, "US")
        measured[kind] = (len(values), time.process_time() - started)
    return measured


def main() -> None:
    landing, warehouse = Path(sys.argv[1]), Path(sys.argv[2])
    scan = wall([sys.executable, "-c", DUCKDB_SCAN, *log_files(landing)])
    print(f"duckdb scan                       {scan:7.1f} s wall")
    fixed = empty_reconcile_seconds()
    print(f"reconcile of an empty landing     {fixed:7.1f} s wall")
    cpu = normalisation_cpu(warehouse)
    for kind, (values, seconds) in cpu.items():
        print(f"normalise {values:>9,} {kind:<5} values {seconds:7.1f} s CPU")
    spread = sum(seconds for _, seconds in cpu.values()) / CORES
    floor = scan + fixed + spread
    print(f"lower bound (scan + fixed + normalisation / {CORES} cores) {floor:7.1f} s")
    print(f"budget 2.5 x scan                 {2.5 * scan:7.1f} s")
    print(f"lower bound / scan                {floor / scan:7.2f} x")


if __name__ == "__main__":
    main()
