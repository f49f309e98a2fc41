"""Scale-out figures: a reconcile on N Celery workers over loopback, per-day time, worker memory.

For each (days, workers) case: generate a landing zone of `--events-per-day` x days, start a
private redis-server and N `subscription-pipeline worker`s, run `reconcile --executor celery`
against a fresh warehouse and Dagster instance, and record:
- wall time of the reconcile;
- per received day: the duration of its `stage_partition_step[log_<day>]` in the worker logs (a
  Celery task: Dagster step set-up, reading and parsing the day, writing its Parquet files);
- peak RSS of each worker: max over its processes (Celery parent and pool children) of VmHWM,
  sampled every 0.2 s from /proc.

Usage: python scripts/scale_bench.py --days 20 --workers 1 2 --out bench/work/scale
Results: bench/results/scale_<UTC timestamp>.json, also printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from broker import celery_workers, redis_broker  # noqa: E402

BIN = Path(sys.executable).parent
STEP_LINE = re.compile(
    r"^\[(\S+ \S+): .*(starting|finished) run \S+ step stage_partition_step\[log_(\w+)\]"
)


def _stamp(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def _tree(pid: int) -> list[int]:
    pids, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        children = Path(f"/proc/{parent}/task/{parent}/children")
        try:
            kids = [int(x) for x in children.read_text().split()]
        except OSError:
            kids = []
        pids += kids
        frontier += kids
    return pids


def _hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakSampler(threading.Thread):
    """Max VmHWM over every process under each root pid, sampled until stopped."""

    def __init__(self, roots: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.roots, self.peak = roots, dict.fromkeys(roots, 0)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for name, root in self.roots.items():
                for pid in _tree(root):
                    self.peak[name] = max(self.peak[name], _hwm_kib(pid))
            time.sleep(0.2)


PEAK_LINE = re.compile(r"finished run \S+ step (\S+) \(task \S+\): \w+, peak RSS (\d+) MiB")


def step_peaks(log: str) -> dict[str, int]:
    """Peak RSS per step name (staged days folded into one), from the workers' 'finished' lines.

    With --max-tasks-per-child 1 each step runs in a fresh process, so it is that step's own.
    """
    peaks: dict[str, int] = {}
    for step, mib in PEAK_LINE.findall(log):
        if step.startswith("stage_partition_step["):
            # One name per kind of partition: log_<day>, upload_<file>, inbox_<day>.
            step = "stage_partition_step[" + step.split("[")[1].split("_")[0] + "]"
        name = step
        peaks[name] = max(peaks.get(name, 0), int(mib))
    return peaks


def per_day_seconds(log: str) -> dict[str, float]:
    """Each staged day's step: from the worker's 'starting' line to its 'finished' line."""
    started: dict[str, float] = {}
    times: dict[str, float] = {}
    for line in log.splitlines():
        if match := STEP_LINE.match(line):
            stamp, what, key = match.groups()
            day = key.replace("_", "-")
            if what == "starting":
                started[day] = _stamp(stamp)
            elif day in started:
                times[day] = round(_stamp(stamp) - started[day], 2)
    return times


def run_case(
    out: Path, days: int, workers: int, events_per_day: int, max_tasks_per_child: int | None
) -> dict:
    zone = out / f"zone_{days}d"
    if not zone.exists():
        subprocess.run(
            [
                str(BIN / "subscription-pipeline"), "generate", "--out", str(zone),
                "--days", str(days), "--events", str(days * events_per_day),
                "--contacts", "20000", "--uploads", "2", "--rows", "2000",
            ],
            check=True,
        )  # fmt: skip
    case = (
        out / f"case_{days}d_{workers}w"
        if not max_tasks_per_child
        else out / f"case_{days}d_{workers}w_r"
    )
    shutil.rmtree(case, ignore_errors=True)
    home = case / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    warehouse = case / "warehouse.duckdb"
    env = dict(os.environ)
    env.pop("SUBSCRIPTION_BROKER_URL", None)  # always a private broker
    with redis_broker(case) as broker:
        env |= {"DAGSTER_HOME": str(home), "SUBSCRIPTION_BROKER_URL": broker}
        names = [f"bench-{n}" for n in range(1, workers + 1)]
        recycle = ("--max-tasks-per-child", str(max_tasks_per_child)) if max_tasks_per_child else ()
        with celery_workers(names, env, case, extra_args=recycle) as started_workers:
            roots = {name: worker.pid for name, worker in started_workers.items()}
            sampler = PeakSampler(roots)
            sampler.start()
            started = time.monotonic()
            subprocess.run(
                [
                    str(BIN / "subscription-pipeline"), "reconcile", "--executor", "celery",
                    "--data-dir", str(zone), "--warehouse", str(warehouse),
                ],
                env=env, check=True, stdout=subprocess.DEVNULL,
                stderr=(case / "reconcile.log").open("w"),
            )  # fmt: skip
            wall = time.monotonic() - started
            sampler.stop.set()
            sampler.join()
            texts = {name: w.log.read_text() for name, w in started_workers.items()}
    per_day: dict[str, float] = {}
    peaks: dict[str, int] = {}
    for text in texts.values():
        per_day |= per_day_seconds(text)
        for step, mib in step_peaks(text).items():
            peaks[step] = max(peaks.get(step, 0), mib)
    values = sorted(per_day.values())
    return {
        "days": days,
        "workers": workers,
        "events": days * events_per_day,
        "reconcile_wall_s": round(wall, 1),
        "per_day_s": per_day,
        "per_day_median_s": values[len(values) // 2] if values else None,
        "worker_peak_rss_mib": {n: round(kib / 1024) for n, kib in sampler.peak.items()},
        "max_tasks_per_child": max_tasks_per_child,
        "step_peak_rss_mib": peaks,
        "steps_per_worker": {n: t.count("starting run") for n, t in texts.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, nargs="+", default=[20])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--events-per-day", type=int, default=20_000)
    parser.add_argument("--max-tasks-per-child", type=int, default=None)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "work" / "scale")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for days in args.days:
        for workers in args.workers:
            result = run_case(
                args.out.resolve(), days, workers, args.events_per_day, args.max_tasks_per_child
            )
            print(json.dumps(result), flush=True)
            results.append(result)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = REPO / "bench" / "results" / f"scale_{stamp}.json"
    target.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {target.relative_to(REPO)}")


if __name__ == "__main__":
    main()
