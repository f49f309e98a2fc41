"""`make bench`: the pipeline against its baselines, in one run on one machine.

Every stage runs in its own child process; wall time and that child's peak RSS (os.wait4) are
recorded, and the figures are reported as ratios between stages of the same run:

1. reconcile_full   `subscription-pipeline reconcile` of the whole landing zone (fresh warehouse
                    and Dagster instance)
2. duckdb_scan      DuckDB alone: count(*) over the same log files with an explicit schema
2b. duckdb_plain    a plain DuckDB script: filter the subscription messages, unnest, latest
                    status per key (no validation, no audit, no de-duplication)
3. pandas_naive     a naive pandas script (read, explode, sort, last per key) on the first
                    `--pandas-events` events
4. reconcile_incr   the nightly run after one new received day (~2% of the events) lands
5. engine_only      the same full ingestion + resolution without Dagster
The Dagster overhead is the full reconcile's wall time minus the time its runs spent inside
steps (read from the run's own instance).

Results: bench/results/<UTC timestamp>.json and .md, and bench/results/latest.md (latest_large.md
for `--large`, the documented large run: DuckDB scan and full reconcile only).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from subscription_pipeline.cli import add_subscription_share_argument
from subscription_pipeline.warehouse.connection import DEFAULT_MEMORY_LIMIT

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

DUCKDB_SCAN = """
import sys, duckdb
con = duckdb.connect()
con.execute("SET memory_limit = '1GB'")
files = sys.argv[1:]
columns = {"type": "VARCHAR", "messageId": "VARCHAR", "timestamp": "VARCHAR",
           "receivedAt": "VARCHAR", "userId": "VARCHAR", "event": "VARCHAR",
           "context": "JSON", "properties": "JSON"}
n = con.execute("SELECT count(*) FROM read_json(?, columns = ?, format = 'newline_delimited', "
                "ignore_errors = true)", [files, columns]).fetchone()[0]
print(n)
"""

DUCKDB_PLAIN = """
import sys, duckdb
con = duckdb.connect()
con.execute("SET memory_limit = '1GB'")
files = sys.argv[1:]
columns = {"type": "VARCHAR", "event": "VARCHAR", "timestamp": "VARCHAR",
           "context": "STRUCT(messaging_subscriptions STRUCT(key VARCHAR, type VARCHAR, "
                      "status VARCHAR)[])",
           "properties": 'STRUCT("from" VARCHAR, body VARCHAR)'}
n = con.execute(\"\"\"
WITH m AS MATERIALIZED (
    SELECT try_cast(timestamp AS TIMESTAMP) AS ts, event, context.messaging_subscriptions AS subs,
           properties
    FROM read_json(?, columns = ?, format = 'newline_delimited', ignore_errors = true)
    WHERE len(context.messaging_subscriptions) > 0
       OR event IN ('SMS Received', 'WhatsApp Message Received')
),
entries AS (
    SELECT ts, unnest(subs) AS e FROM m WHERE len(subs) > 0
    UNION ALL
    SELECT ts, {'key': properties."from", 'type': 'SMS', 'status': upper(trim(properties.body))}
    FROM m WHERE event IN ('SMS Received', 'WhatsApp Message Received')
)
SELECT count(*) FROM (
    SELECT lower(trim(e.key)), upper(e.type), arg_max(upper(e.status), ts)
    FROM entries GROUP BY ALL
)
\"\"\", [files, columns]).fetchone()[0]
print(n)
"""

PANDAS_NAIVE = """
import gzip, json, sys
import pandas as pd
limit = int(sys.argv[1]); rows = []
for path in sys.argv[2:]:
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if len(rows) >= limit:
                break
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
frame = pd.json_normalize(rows)
column = "context.messaging_subscriptions"
frame = frame[frame[column].notna()] if column in frame else frame.iloc[0:0]
frame = frame.explode(column)
entries = pd.json_normalize(frame[column].tolist())
entries["timestamp"] = pd.to_datetime(frame["timestamp"].values, utc=True, errors="coerce")
entries["key"] = entries["key"].astype(str).str.strip().str.lower()
last = entries.sort_values("timestamp").groupby(["type", "key"]).tail(1)
print(len(rows), len(last))
"""


# Seconds spent inside Dagster steps by the runs created since argv[1] (a Unix time): the rest
# of a reconcile's wall time is orchestration (start-up, run and step set-up, event logging).
STEP_SECONDS = """
import sys
import dagster as dg
since, total = float(sys.argv[1]), 0.0
with dg.DagsterInstance.get() as instance:
    for run in instance.get_runs():
        record = instance.get_run_record_by_id(run.run_id)
        if record.create_timestamp.timestamp() < since:
            continue
        for step in instance.get_run_step_stats(run.run_id):
            if step.start_time and step.end_time:
                total += step.end_time - step.start_time
print(total)
"""


def step_seconds(env: dict[str, str], since: float) -> float:
    out = subprocess.run(
        [sys.executable, "-c", STEP_SECONDS, str(since)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out.strip().splitlines()[-1])


def measure(name: str, command: list[str], env: dict[str, str] | None = None) -> dict:
    """Run a child process; its wall time and its own peak RSS."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # wait4 gives this child's rusage alone; communicate() would reap it first.
    out = process.stdout.read()
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{name} failed ({process.returncode}):\n{out[-2000:]}\n{err[-4000:]}")
    rss_mib = usage.ru_maxrss / 1024
    print(f"  {name:16s} {wall:8.1f} s  peak RSS {rss_mib:8.0f} MiB", flush=True)
    return {"stage": name, "seconds": round(wall, 2), "peak_rss_mib": round(rss_mib, 1)}


def log_files(landing: Path) -> list[str]:
    return sorted(str(p) for p in (landing / "segment-logs").rglob("*.gz"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--rows", type=int, default=100_000, help="CSV rows in all")
    parser.add_argument("--contacts", type=int, default=0, help="default: events / 10")
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--uploads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pandas-events", type=int, default=1_000_000)
    parser.add_argument(
        "--memory-limit", default=None, help="DuckDB memory_limit (default: the pipeline's own)"
    )
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "work")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--skip-pandas", action="store_true")
    add_subscription_share_argument(parser)
    parser.add_argument(
        "--large",
        action="store_true",
        help="the documented large run: only the DuckDB scan and the full reconcile",
    )
    args = parser.parse_args()
    contacts = args.contacts or max(100, args.events // 10)
    start_day = date(2024, 1, 1)

    tag = f"e{args.events}_r{args.rows}_d{args.days}_s{args.seed}"
    if args.subscription_share is not None:
        tag += f"_p{args.subscription_share:g}"
    share = (
        ["--subscription-share", str(args.subscription_share)]
        if args.subscription_share is not None
        else []
    )
    landing = args.work / tag / "landing"
    run_dir = args.work / tag / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    cli = str(BIN / "subscription-pipeline")
    env = os.environ | {"DAGSTER_HOME": str(run_dir / "dagster_home")}
    (run_dir / "dagster_home").mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", run_dir / "dagster_home" / "dagster.yaml")
    if args.memory_limit:
        env["SUBSCRIPTION_MEMORY_LIMIT"] = args.memory_limit

    print(f"landing zone {landing}", flush=True)
    stages = []
    if not (landing / ".complete").exists():
        shutil.rmtree(landing, ignore_errors=True)
        stages.append(
            measure(
                "generate",
                [
                    cli,
                    "generate",
                    "--events",
                    str(args.events),
                    "--contacts",
                    str(contacts),
                    "--days",
                    str(args.days),
                    "--uploads",
                    str(args.uploads),
                    "--rows",
                    str(args.rows),
                    "--seed",
                    str(args.seed),
                    "--start-day",
                    start_day.isoformat(),
                    *share,
                    "--out",
                    str(landing),
                ],
            )
        )
        (landing / ".complete").touch()
    files = log_files(landing)

    stages.append(measure("duckdb_scan", [sys.executable, "-c", DUCKDB_SCAN, *files]))
    stages.append(measure("duckdb_plain", [sys.executable, "-c", DUCKDB_PLAIN, *files]))
    full_wh = run_dir / "full.duckdb"
    started = time.time()
    stages.append(
        measure(
            "reconcile_full",
            [cli, "reconcile", "--data-dir", str(landing), "--warehouse", str(full_wh)],
            env,
        )
    )
    stages[-1]["in_steps_seconds"] = round(step_seconds(env, started), 2)
    if args.large:
        report(args, contacts, stages)
        return
    stages.append(
        measure(
            "engine_only",
            [
                sys.executable,
                "-m",
                "subscription_pipeline.direct_run",
                str(landing),
                str(run_dir / "engine.duckdb"),
            ],
            env,
        )
    )
    if not args.skip_pandas:
        stages.append(
            measure(
                "pandas_naive",
                [
                    sys.executable,
                    "-c",
                    PANDAS_NAIVE,
                    str(min(args.pandas_events, args.events)),
                    *files,
                ],
            )
        )

    # The nightly run: one new received day with ~2% of the events, added to a copy.
    extra = run_dir / "extra"
    subprocess.run(
        [
            cli,
            "generate",
            "--events",
            str(max(1, args.events // 50)),
            "--contacts",
            str(contacts),
            "--days",
            "1",
            "--uploads",
            "0",
            "--rows",
            "0",
            "--seed",
            str(args.seed + 1),
            "--start-day",
            (start_day + timedelta(days=args.days + 2)).isoformat(),
            *share,
            "--out",
            str(extra),
        ],
        check=True,
        capture_output=True,
    )
    incremental_landing = run_dir / "landing_plus_one_day"
    shutil.copytree(landing, incremental_landing, symlinks=True)
    for source in (extra / "segment-logs").iterdir():
        shutil.copytree(
            source, incremental_landing / "segment-logs" / source.name, dirs_exist_ok=True
        )
    stages.append(
        measure(
            "reconcile_incr",
            [cli, "reconcile", "--data-dir", str(incremental_landing), "--warehouse", str(full_wh)],
            env,
        )
    )
    report(args, contacts, stages)


def _commit() -> str:
    """The checked-out commit, with '+changes' when the tree differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def report(args: argparse.Namespace, contacts: int, stages: list[dict]) -> None:
    by = {s["stage"]: s for s in stages}
    full, scan = by["reconcile_full"], by["duckdb_scan"]
    ratios = {
        "full_reconcile_over_duckdb_scan": full["seconds"] / scan["seconds"],
        "full_reconcile_over_duckdb_plain": full["seconds"] / by["duckdb_plain"]["seconds"],
        "reconcile_peak_rss_gib": full["peak_rss_mib"] / 1024,
        "reconcile_events_per_second": args.events / full["seconds"],
    }
    if "reconcile_incr" in by:
        ratios["incremental_over_full"] = by["reconcile_incr"]["seconds"] / full["seconds"]
    if "in_steps_seconds" in full:
        # Wall time outside any Dagster step: what orchestration itself costs.
        ratios["dagster_overhead_seconds"] = full["seconds"] - full["in_steps_seconds"]
    if "engine_only" in by:
        # Not only overhead: the reconcile also checks, reports and exports.
        ratios["reconcile_minus_engine_seconds"] = full["seconds"] - by["engine_only"]["seconds"]
        ratios["engine_over_duckdb_scan"] = by["engine_only"]["seconds"] / scan["seconds"]
    if "pandas_naive" in by:
        pandas_events = min(args.pandas_events, args.events)
        per_event_pandas = by["pandas_naive"]["seconds"] / pandas_events
        per_event_full = full["seconds"] / args.events
        ratios["pandas_per_event_over_reconcile_per_event"] = per_event_pandas / per_event_full
    result = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "command": "python scripts/bench.py " + " ".join(sys.argv[1:]),
        "commit": _commit(),
        "events": args.events,
        "subscription_share_pct": args.subscription_share,
        "csv_rows": args.rows,
        "contacts": contacts,
        "days": args.days,
        "memory_limit": args.memory_limit or DEFAULT_MEMORY_LIMIT,
        "stages": stages,
        "ratios": {k: round(v, 3) for k, v in ratios.items()},
    }
    lines = [
        f"Benchmark {result['at']} on {result['machine']}: {args.events:,} events, "
        f"{args.rows:,} CSV rows, {contacts:,} contacts, {args.days} days "
        f"(`{result['command']}`, commit {result['commit']})",
        "",
        "| stage | seconds | peak RSS MiB |",
        "|---|---:|---:|",
        *[f"| {s['stage']} | {s['seconds']} | {s['peak_rss_mib']} |" for s in stages],
        "",
        "| ratio | value | target |",
        "|---|---:|---|",
    ]
    targets = {
        "full_reconcile_over_duckdb_scan": "<= 2.5",
        "full_reconcile_over_duckdb_plain": "<= 2",
        "engine_over_duckdb_scan": "(measured: ingestion + resolution, no Dagster)",
        "incremental_over_full": "<= 0.05",
        "reconcile_peak_rss_gib": "< 1.5",
        "pandas_per_event_over_reconcile_per_event": ">= 25",
        "dagster_overhead_seconds": "(measured: wall minus time in steps)",
        "reconcile_minus_engine_seconds": "(measured: + checks, reports, exports)",
        "reconcile_events_per_second": "(measured)",
    }
    lines += [f"| {k} | {v:.3f} | {targets.get(k, '')} |" for k, v in result["ratios"].items()]
    args.results.mkdir(parents=True, exist_ok=True)
    stamp = result["at"].replace(":", "").replace("-", "")
    (args.results / f"{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.results / f"{stamp}.md").write_text("\n".join(lines) + "\n")
    latest = "latest_large.md" if args.large else "latest.md"
    (args.results / latest).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
