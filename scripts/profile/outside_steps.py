"""Dagster's cost outside steps: a reconcile's wall time minus the time its runs spent in steps.

    python scripts/profile/outside_steps.py LANDING [--runs N] [--source DIR ...]

Each reconcile is a child process with a fresh warehouse and a fresh DAGSTER_HOME (a copy of
the project's dagster.yaml) on a copy of LANDING's inputs (logs and uploads hard-linked where
the file system allows): a reconcile writes its reports and exports into the landing zone.
The seconds in steps are read from the instance, as `scripts/bench.py` does. `--source DIR`
runs the package found in DIR (e.g. `git archive <commit> | tar -x -C DIR`) instead of the
installed one; several sources take turns, so that they share the machine's load alike.
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
# Read only: hard-linked. Written by a reconcile (SQLite files): copied.
LINKED, COPIED = ("segment-logs", "uploads"), ("inbox", "erasure")
# As in empty_reconcile.py: the CLI of another checkout, called as the installed script is.
FROM_SOURCE = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f)]
sys.path.insert(0, sys.argv.pop(1))
from subscription_pipeline.cli import main
sys.exit(main())
"""
STEP_SECONDS = """
import dagster as dg
total = 0.0
with dg.DagsterInstance.get() as instance:
    for run in instance.get_runs():
        for step in instance.get_run_step_stats(run.run_id):
            if step.start_time and step.end_time:
                total += step.end_time - step.start_time
print(total)
"""


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def prepare(root: Path, landing: Path) -> dict[str, str]:
    """A fresh landing copy, home and warehouse under root; the child's environment."""
    shutil.rmtree(root, ignore_errors=True)
    (root / "dagster_home").mkdir(parents=True)
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", root / "dagster_home" / "dagster.yaml")
    for name in (*LINKED, *COPIED):
        if (landing / name).is_dir():
            copy = _link_or_copy if name in LINKED else shutil.copy2
            shutil.copytree(landing / name, root / "landing" / name, copy_function=copy)
    return os.environ | {"DAGSTER_HOME": str(root / "dagster_home")}


def timed_reconcile(root: Path, env: dict[str, str], source: Path | None) -> dict[str, float]:
    cli = [sys.executable, "-c", FROM_SOURCE, str(source)] if source else [str(CLI)]
    command = [*cli, "reconcile", "--data-dir", str(root / "landing")]
    command += ["--warehouse", str(root / "warehouse.duckdb")]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = process.stderr.read().decode() if process.stderr else ""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"reconcile failed:\n{stderr[-4000:]}")
    steps = subprocess.run(
        [sys.executable, "-c", STEP_SECONDS], env=env, capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    cpu = usage.ru_utime + usage.ru_stime
    return {"wall": wall, "steps": float(steps), "outside": wall - float(steps), "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("landing", type=Path, help="a landing zone (only its inputs are read)")
    parser.add_argument("--runs", type=int, default=3, help="reconciles per source")
    parser.add_argument("--source", type=Path, action="append", help="a checkout to run")
    args = parser.parse_args()
    sources: list[Path | None] = list(args.source or [None])
    results: dict[Path | None, list[dict[str, float]]] = {source: [] for source in sources}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.runs):
            for source in sources:
                root = Path(folder) / "run"
                figures = timed_reconcile(root, prepare(root, args.landing), source)
                results[source].append(figures)
                print(
                    f"{source or 'installed'}: "
                    + ", ".join(f"{name} {value:.2f} s" for name, value in figures.items()),
                    flush=True,
                )
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"medians of {args.runs} (load average {load}, {os.cpu_count()} CPUs):")
    for source, runs in results.items():
        medians = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
        figures = ", ".join(f"{name} {value:.2f} s" for name, value in medians.items())
        print(f"  {source or 'installed'}: {figures}")


if __name__ == "__main__":
    main()
