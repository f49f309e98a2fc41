"""Dagster's fixed cost: `subscription-pipeline reconcile` of an empty landing zone, N times.

    python scripts/profile/empty_reconcile.py [--runs N] [--keep DIR] [--source DIR]

In one temporary folder (a copy of the project's dagster.yaml as DAGSTER_HOME, an empty
landing zone, a warehouse path), the first reconcile meets a fresh instance and no warehouse;
it is timed apart. The next N are the nightly case (instance and warehouse exist, nothing new)
and their median is the figure. Each reconcile is a child process: wall time and its CPU time
(user + sys, from the child's rusage) are reported, with the load average, because on a shared
machine wall time is mostly waiting for a core. `--source DIR` runs the package found in DIR
(e.g. `git archive <commit> | tar -x -C DIR`) instead of the installed one, to compare two
commits under the same load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "subscription-pipeline"
# The CLI of another checkout: the editable install's import hook is dropped so that DIR wins.
# main() reads sys.argv, as the installed script's does (it behaves as the program then).
FROM_SOURCE = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f)]
sys.path.insert(0, sys.argv.pop(1))
from subscription_pipeline.cli import main
sys.exit(main())
"""


def timed_reconcile(root: Path, source: Path | None = None) -> tuple[float, float]:
    """(wall s, CPU s) of one reconcile of root/landing; raises if it fails."""
    env = os.environ | {"DAGSTER_HOME": str(root / "dagster_home")}
    cli = [sys.executable, "-c", FROM_SOURCE, str(source)] if source else [str(CLI)]
    command = [*cli, "reconcile", "--data-dir", str(root / "landing")]
    command += ["--warehouse", str(root / "warehouse.duckdb")]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stderr = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"reconcile failed:\n{stderr}")
    return wall, usage.ru_utime + usage.ru_stime


def prepare(root: Path) -> None:
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    for folder in ("segment-logs", "uploads"):
        (root / "landing" / folder).mkdir(parents=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed reconciles after the first")
    parser.add_argument("--keep", type=Path, help="work in this new folder and keep it")
    parser.add_argument("--source", type=Path, help="run the package in this checkout")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = args.keep or Path(folder)
        root.mkdir(parents=True, exist_ok=args.keep is None)
        prepare(root)
        first = timed_reconcile(root, args.source)
        print(f"first (fresh instance, no warehouse): wall {first[0]:.2f} s, CPU {first[1]:.2f} s")
        walls, cpus = [], []
        for _ in range(args.runs):
            wall, cpu = timed_reconcile(root, args.source)
            walls.append(wall)
            cpus.append(cpu)
            print(f"  empty reconcile: wall {wall:.2f} s, CPU {cpu:.2f} s")
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        if not walls:
            return
        print(
            f"median of {args.runs}: wall {statistics.median(walls):.2f} s, "
            f"CPU {statistics.median(cpus):.2f} s (load average {load}, {os.cpu_count()} CPUs)"
        )


if __name__ == "__main__":
    main()
