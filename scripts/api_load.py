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
import http.client
import itertools
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

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


def wait_ready(base: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            httpx.post(base + "/batch", json={"subscriptions": []})
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("the service did not start")


def send_load(
    base: str, rate: float, seconds: float, seed: int, workers: int = 8
) -> tuple[list[tuple], float]:
    """Open loop: request i is due at start + i / rate whatever the earlier ones are doing.

    Worker threads with one keep-alive connection each take the next due request; (results,
    the worst lateness of a send behind its due time, in ms) so the generator's own lag shows.
    """
    total = int(rate * seconds)
    due = itertools.count()
    results: list[tuple] = []
    lateness = [0.0]
    start = time.monotonic() + 0.5

    def worker(number: int) -> None:
        # http.client rather than httpx: the client shares the 2 cores with the service, and
        # its own overhead would show up as service latency.
        rng = random.Random(seed * 1000 + number)
        host, port, path = urlsplit(base).hostname, urlsplit(base).port, urlsplit(base).path
        connection = http.client.HTTPConnection(host, port, timeout=10)
        try:
            while (index := next(due)) < total:
                delay = start + index / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    lateness[0] = max(lateness[0], -delay * 1000)
                key = f"load-{seed}-{index}"
                contact = rng.randrange(5_000)
                status = rng.choice(("subscribed", "unsubscribed", "did_not_subscribe"))
                body = json.dumps(
                    {
                        "subscriptions": [
                            {"key": f"load{contact}@example.com", "type": "EMAIL", "status": status}
                        ]
                    }
                )
                headers = {
                    "Authorization": f"Bearer {TOKEN}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": key,
                }
                sent = time.perf_counter()
                server_ms = float("nan")
                try:
                    connection.request("PUT", path, body=body, headers=headers)
                    response = connection.getresponse()
                    response.read()
                    code: int | str = response.status
                    timing = response.getheader("server-timing", "")
                    if timing.startswith("app;dur="):
                        server_ms = float(timing.removeprefix("app;dur="))
                except (OSError, http.client.HTTPException) as exc:
                    code = type(exc).__name__
                    connection.close()
                    connection = http.client.HTTPConnection(host, port, timeout=10)
                results.append((key, code, time.perf_counter() - sent, server_ms))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, lateness[0]


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
    parser.add_argument(
        "--workers",
        type=int,
        default=8,
        help="client threads (connections); more threads cost the shared CPU more than they add",
    )
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--reconcile-nice",
        type=int,
        default=0,
        help="run the reconcile at this nice level (batch work below the latency-bound service)",
    )
    args = parser.parse_args()
    if not 0 < args.rate <= 2_000 or not 0 < args.seconds <= 120 or not 1 <= args.workers <= 64:
        parser.error("--rate in (0, 2000], --seconds in (0, 120], --workers in [1, 64]")

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

    env = {
        **os.environ,
        "SUBSCRIPTION_API_TOKENS": TOKEN,
        "SUBSCRIPTION_SPACE_ID": "load",
        "DAGSTER_HOME": str(home),
    }
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
        wait_ready(base, time.monotonic() + 60)
        reconcile_log = (work / "reconcile.log").open("w")
        reconcile_started = time.monotonic()
        nice = ["nice", "-n", str(args.reconcile_nice)] if args.reconcile_nice else []
        reconcile = subprocess.Popen(
            [*nice, *cli, "reconcile", "--data-dir", str(data_dir)],
            env=env,
            cwd=REPO,
            stdout=reconcile_log,
            stderr=subprocess.STDOUT,
        )
        time.sleep(2)  # let the reconcile get going (Dagster start-up) before the load
        load_started = time.monotonic()
        results, lateness = send_load(base, args.rate, args.seconds, args.seed, args.workers)
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

    latencies = [seconds * 1000 for _, code, seconds, _ in results if code == 200]
    in_service = [server for _, code, _, server in results if code == 200]
    confirmed = [key for key, code, _, _ in results if code == 200]
    failures = [code for _, code, _, _ in results if code != 200]
    lost, duplicated, unexpected = check_inbox(data_dir, confirmed)
    print(
        f"PUT load: {len(results)} requests in {load_seconds:.1f} s "
        f"({len(results) / load_seconds:.0f} req/s offered at {args.rate:.0f}/s), "
        f"{len(confirmed)} answered 200, {len(failures)} other: {sorted(set(map(str, failures)))}"
    )
    print(f"load generator: worst send {lateness:.1f} ms behind schedule")
    print(
        f"latency ms: p50 {percentile(latencies, 0.50):.1f}, "
        f"p95 {percentile(latencies, 0.95):.1f}, p99 {percentile(latencies, 0.99):.1f}, "
        f"max {max(latencies, default=float('nan')):.1f} (client side)"
    )
    print(
        f"in the service (Server-Timing): p50 {percentile(in_service, 0.50):.1f}, "
        f"p99 {percentile(in_service, 0.99):.1f}, max {max(in_service, default=float('nan')):.1f}"
    )
    print(
        f"reconcile (nice {args.reconcile_nice}): exit {reconcile_code}, "
        f"{reconcile_seconds:.1f} s, "
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
