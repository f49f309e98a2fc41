"""A bounded load test of the API service while a reconcile runs (loopback only).

    .venv/bin/python scripts/api_load.py [--rate 200] [--seconds 20] [--events 300000]

1. generates a landing zone in a temporary folder (or --work-dir);
2. starts `subscription-pipeline serve` on a free 127.0.0.1 port and `subscription-pipeline
   reconcile` of that landing zone, each in its own process;
3. sends PUTs open-loop at --rate requests/s for --seconds (one entry each, a unique
   Idempotency-Key each), at most rate x seconds requests, every request with a timeout;
4. stops both processes and checks the inbox: every request answered 200 is recorded exactly
   once (no lost, no duplicated confirmation), and nothing else is.

Prints the achieved rate, latency percentiles of the PUT, whether the reconcile overlapped the
whole load, and the check; exits 1 if a confirmation was lost or duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from subscription_pipeline.api.inbox import inbox_path  # noqa: E402
from subscription_pipeline.generate.landing_zone import generate_landing_zone  # noqa: E402

TOKEN = "load-test-token"
HARD_LIMIT_SECONDS = 600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def wait_ready(base: str, deadline: float) -> None:
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                await client.post(base + "/batch", json={"subscriptions": []})
                return
            except httpx.TransportError:
                await asyncio.sleep(0.2)
    raise SystemExit("the service did not start")


async def send_load(base: str, rate: float, seconds: float, seed: int) -> list[tuple]:
    """Open loop: request i leaves at start + i / rate whatever the earlier ones are doing."""
    rng = random.Random(seed)
    total = int(rate * seconds)
    results: list[tuple] = []
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=10.0) as client:

        async def one(index: int) -> None:
            key = f"load-{seed}-{index}"
            contact = rng.randrange(5_000)
            status = rng.choice(("subscribed", "unsubscribed", "did_not_subscribe"))
            body = {
                "subscriptions": [
                    {"key": f"load{contact}@example.com", "type": "EMAIL", "status": status}
                ]
            }
            started = time.perf_counter()
            try:
                response = await client.put(base, json=body, headers={"Idempotency-Key": key})
                code = response.status_code
            except httpx.HTTPError as exc:
                code = type(exc).__name__
            results.append((key, code, time.perf_counter() - started))

        start = time.monotonic()
        tasks = []
        for index in range(total):
            delay = start + index / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index)))
        await asyncio.gather(*tasks)
    return results


def check_inbox(data_dir: Path, confirmed: list[str]) -> tuple[int, int, int]:
    """(lost, duplicated, unexpected) confirmations, by Idempotency-Key."""
    con = sqlite3.connect(inbox_path(data_dir))
    try:
        rows = con.execute(
            "SELECT r.idempotency_key, count(e.seq) FROM requests r "
            "LEFT JOIN entries e USING (request_id) GROUP BY r.request_id, r.idempotency_key"
        ).fetchall()
    finally:
        con.close()
    recorded: dict[str, int] = {}
    for key, entries in rows:
        recorded[key] = recorded.get(key, 0) + entries
    lost = sum(1 for key in confirmed if recorded.get(key, 0) == 0)
    duplicated = sum(1 for key in confirmed if recorded.get(key, 0) > 1)
    unexpected = len(set(recorded) - set(confirmed))
    return lost, duplicated, unexpected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--events", type=int, default=300_000, help="landing zone to reconcile")
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.rate <= 0 or not 0 < args.seconds <= 120:
        parser.error("--rate must be > 0 and --seconds in (0, 120]")

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="api_load_"))
    data_dir, home = work / "data", work / "dagster_home"
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    print(f"generating a landing zone of {args.events} events in {data_dir} ...", flush=True)
    generate_landing_zone(
        data_dir,
        events=args.events,
        contacts=max(1_000, args.events // 5),
        days=7,
        uploads=3,
        rows=10_000,
        seed=args.seed,
        start_day=date(2024, 3, 1),
    )

    env = {**os.environ, "SUBSCRIPTION_API_TOKENS": TOKEN, "DAGSTER_HOME": str(home)}
    cli = [sys.executable, "-m", "subscription_pipeline.cli"]
    port = free_port()
    base = f"http://127.0.0.1:{port}/spaces/load/messaging-subscriptions"
    service = subprocess.Popen(
        [*cli, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    reconcile = None
    try:
        asyncio.run(wait_ready(base, time.monotonic() + 60))
        reconcile_log = (work / "reconcile.log").open("w")
        reconcile_started = time.monotonic()
        reconcile = subprocess.Popen(
            [*cli, "reconcile", "--data-dir", str(data_dir)],
            env=env,
            cwd=REPO,
            stdout=reconcile_log,
            stderr=subprocess.STDOUT,
        )
        time.sleep(2)  # let the reconcile get going (Dagster start-up) before the load
        load_started = time.monotonic()
        results = asyncio.run(
            asyncio.wait_for(send_load(base, args.rate, args.seconds, args.seed), 300)
        )
        load_seconds = time.monotonic() - load_started
        overlapped = reconcile.poll() is None
        remaining = HARD_LIMIT_SECONDS - (time.monotonic() - reconcile_started)
        reconcile_code = reconcile.wait(timeout=max(remaining, 1))
        reconcile_seconds = time.monotonic() - reconcile_started
    finally:
        service.terminate()
        service.wait(timeout=30)
        if reconcile is not None and reconcile.poll() is None:
            reconcile.terminate()

    latencies = [seconds * 1000 for _, code, seconds in results if code == 200]
    confirmed = [key for key, code, _ in results if code == 200]
    failures = [code for _, code, _ in results if code != 200]
    lost, duplicated, unexpected = check_inbox(data_dir, confirmed)
    print(
        f"PUT load: {len(results)} requests in {load_seconds:.1f} s "
        f"({len(results) / load_seconds:.0f} req/s offered at {args.rate:.0f}/s), "
        f"{len(confirmed)} answered 200, {len(failures)} other: {sorted(set(map(str, failures)))}"
    )
    print(
        f"latency ms: p50 {percentile(latencies, 0.50):.1f}, "
        f"p95 {percentile(latencies, 0.95):.1f}, p99 {percentile(latencies, 0.99):.1f}, "
        f"max {max(latencies, default=float('nan')):.1f}"
    )
    print(
        f"reconcile: exit {reconcile_code}, {reconcile_seconds:.1f} s, "
        f"{'still running when the load ended' if overlapped else 'ended before the load did'} "
        f"(log: {work / 'reconcile.log'})"
    )
    print(
        f"confirmations: {lost} lost, {duplicated} duplicated, {unexpected} recorded but not "
        f"confirmed (every 200 in the inbox exactly once: {lost == duplicated == 0})"
    )
    return 0 if lost == duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
