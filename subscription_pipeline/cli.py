"""`subscription-pipeline`: reconcile, explain, export, forget, generate, dev, worker, serve."""

from __future__ import annotations

import argparse
import gc
import os
import sys
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path

from subscription_pipeline import paths


def add_subscription_share_argument(parser: argparse.ArgumentParser) -> None:
    """The generator's traffic mix (`generate`, and scripts/bench.py, which passes it on)."""
    parser.add_argument(
        "--subscription-share",
        type=float,
        default=None,
        metavar="PCT",
        help="realistic analytics.js bodies, PCT%% of the messages carrying subscriptions or "
        "keywords (default: the compact test mix)",
    )


def _add_paths(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=None, help="landing zone (default: data/)")
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help="the DuckDB file analysts read (default: DATA_DIR/warehouse.duckdb); the pipeline "
        "writes NAME.engine.duckdb beside it and publishes this file after each resolution",
    )


def _add_executor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--executor",
        choices=("in_process", "multiprocess", "celery"),
        default="in_process",
        help="where the steps run: this process (default), local processes, or Celery workers "
        "(`subscription-pipeline worker`, broker from SUBSCRIPTION_BROKER_URL)",
    )


def _resolve_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    data_dir = (args.data_dir or paths.default_data_dir()).resolve()
    warehouse = (args.warehouse or paths.default_warehouse(data_dir)).resolve()
    return data_dir, warehouse


def _run_and_summarize(verb: str, run: Callable[[], object], warehouse: Path) -> int:
    """Run a reconcile or backfill; a failed run or a held lock is one clear line and exit 1."""
    from subscription_pipeline.orchestration.executors import BrokerNotConfiguredError
    from subscription_pipeline.orchestration.instance import InstanceUnavailable
    from subscription_pipeline.orchestration.runner import ReconcileFailed
    from subscription_pipeline.summary import summarize
    from subscription_pipeline.warehouse.connection import WarehouseLockedError

    try:
        print(run())
    except (
        ReconcileFailed,
        WarehouseLockedError,
        BrokerNotConfiguredError,
        InstanceUnavailable,
    ) as exc:
        print(f"{verb} failed: {exc}", file=sys.stderr)
        return 1
    print(summarize(warehouse))
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from subscription_pipeline.orchestration.runner import reconcile

    data_dir, warehouse = _resolve_paths(args)

    def run() -> str:
        result = reconcile(data_dir, warehouse, default_region=args.region, executor=args.executor)
        if result.nothing_to_do:
            return (
                f"Reconciled {data_dir}: nothing new or changed, and the last resolution "
                f"succeeded: no Dagster run (DAGSTER_HOME={os.environ['DAGSTER_HOME']})."
            )
        return (
            f"Reconciled {data_dir}: {len(result.uploads)} new or changed uploads, "
            f"{len(result.log_days)} received days, {len(result.inbox_days)} API inbox days, "
            f"{len(result.runs)} Dagster runs "
            f"(DAGSTER_HOME={os.environ['DAGSTER_HOME']})."
        )

    return _run_and_summarize("reconcile", run, warehouse)


def cmd_backfill(args: argparse.Namespace) -> int:
    from subscription_pipeline.api.inbox import accepted_days, inbox_path
    from subscription_pipeline.ingest.csv_upload import list_uploads
    from subscription_pipeline.ingest.event_logs import list_log_days
    from subscription_pipeline.orchestration.runner import backfill, days_between

    data_dir, warehouse = _resolve_paths(args)
    present_days = set(list_log_days(data_dir))
    inbox_present = set(accepted_days(inbox_path(data_dir)))
    days: list[str] = []
    inbox_days: list[str] = []
    if args.days:
        first, _, last = args.days.partition("..")
        asked = days_between(first, last or first)
        days = [day for day in asked if day in present_days]
        inbox_days = [day for day in asked if day in inbox_present]
    present_uploads = list_uploads(data_dir)
    uploads = present_uploads if args.all_uploads else list(args.upload or [])
    unknown = sorted(set(uploads) - set(present_uploads))
    if unknown:
        print(
            f"backfill: no such upload in {data_dir / 'uploads'}: {', '.join(unknown)}",
            file=sys.stderr,
        )
        return 2

    def run() -> str:
        result = backfill(
            data_dir,
            warehouse,
            uploads=uploads,
            log_days=days,
            inbox_days=inbox_days,
            default_region=args.region,
            executor=args.executor,
        )
        return (
            f"Backfilled {len(result.uploads)} uploads, {len(result.log_days)} received days "
            f"and {len(result.inbox_days)} API inbox days in {len(result.runs)} Dagster runs."
        )

    return _run_and_summarize("backfill", run, warehouse)


def _published(warehouse: Path) -> bool:
    """explain and export read the published file, never the engine a run may hold."""
    if not warehouse.exists():
        print(
            f"no warehouse at {warehouse} yet: run `subscription-pipeline reconcile`",
            file=sys.stderr,
        )
    return warehouse.exists()


def cmd_explain(args: argparse.Namespace) -> int:
    from subscription_pipeline.resolve.explain import explain_contact
    from subscription_pipeline.warehouse.connection import connect

    _, warehouse = _resolve_paths(args)
    if not _published(warehouse):
        return 1
    con = connect(warehouse, read_only=True)
    try:
        print(explain_contact(con, args.contact, args.channel, default_region=args.region))
    finally:
        con.close()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from subscription_pipeline.export import export_state
    from subscription_pipeline.warehouse.connection import connect

    data_dir, warehouse = _resolve_paths(args)
    if args.consent_records is not None:
        from subscription_pipeline.consent_records import export_consent_records

        con = connect(warehouse, read_only=True)
        try:
            count = export_consent_records(con, args.consent_records.resolve())
        finally:
            con.close()
        print(f"consent records: {args.consent_records} ({count} contact vectors)")
        return 0
    out_dir = (args.out or data_dir / "exports").resolve()
    if not _published(warehouse):
        return 1
    con = connect(warehouse, read_only=True)
    try:
        result = export_state(con, out_dir, formats=tuple(args.format))
    finally:
        con.close()
    for name, path in result.files.items():
        print(f"{name}: {path} ({result.rows.get(name, 0)} rows)")
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from subscription_pipeline.erasure.command import run_forget

    data_dir, warehouse = _resolve_paths(args)
    return run_forget(
        data_dir,
        warehouse,
        args.region,
        contact=args.contact,
        reason=args.reason,
        file=args.file,
        lift=args.lift,
        wait_seconds=args.wait,
    )


def cmd_generate(args: argparse.Namespace) -> int:
    from subscription_pipeline.generate.landing_zone import generate_landing_zone

    summary = generate_landing_zone(
        args.out.resolve(),
        events=args.events,
        contacts=args.contacts,
        days=args.days,
        uploads=args.uploads,
        rows=args.rows,
        seed=args.seed,
        start_day=date.fromisoformat(args.start_day),
        subscription_share=None
        if args.subscription_share is None
        else args.subscription_share / 100,
    )
    print(summary)
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    from subscription_pipeline.orchestration.instance import DEFINITIONS_MODULE, open_instance

    # Created here under the lock, so a reconcile starting at the same time cannot race the UI.
    with open_instance():
        pass
    print(f"DAGSTER_HOME={os.environ['DAGSTER_HOME']}")
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "dev",
        "-m",
        DEFINITIONS_MODULE,
        "--host",
        args.host,
        "--port",
        str(args.port),
    ]
    os.execv(command[0], command)
    return 0  # not reached


def cmd_worker(args: argparse.Namespace) -> int:
    from subscription_pipeline.orchestration.executors import BrokerNotConfiguredError
    from subscription_pipeline.orchestration.worker import worker_command, worker_dagster_home

    try:
        command = worker_command(
            args.name, args.concurrency, max_tasks_per_child=args.max_tasks_per_child
        )
    except BrokerNotConfiguredError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    # The worker writes its steps' events to the same instance as the run that submitted them.
    print(f"DAGSTER_HOME={worker_dagster_home()}", flush=True)
    os.execv(command[0], command)
    return 0  # not reached


def cmd_serve(args: argparse.Namespace) -> int:
    from subscription_pipeline.api.serve import serve

    data_dir, _ = _resolve_paths(args)  # the service never opens the warehouse (see README)
    serve(data_dir, host=args.host, port=args.port, region=args.region)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="subscription-pipeline", description=__doc__)
    parser.add_argument(
        "--region",
        default=os.environ.get("SUBSCRIPTION_DEFAULT_REGION", "US"),
        help="default region for phone numbers without a country code (default: US)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    reconcile = commands.add_parser("reconcile", help="ingest everything new and resolve the state")
    _add_paths(reconcile)
    _add_executor(reconcile)
    reconcile.set_defaults(handler=cmd_reconcile)

    backfill = commands.add_parser(
        "backfill", help="re-ingest chosen days or uploads (idempotent), then resolve"
    )
    backfill.add_argument(
        "--days", help="received days FIRST..LAST (UTC), e.g. 2024-03-01..2024-03-31"
    )
    backfill.add_argument("--upload", action="append", help="an upload file name (repeatable)")
    backfill.add_argument("--all-uploads", action="store_true", help="every upload in the folder")
    _add_paths(backfill)
    _add_executor(backfill)
    backfill.set_defaults(handler=cmd_backfill)

    explain = commands.add_parser("explain", help="a contact's timeline and why")
    explain.add_argument("contact", help="email address or phone number")
    explain.add_argument("--channel", choices=("email", "sms", "whatsapp"))
    _add_paths(explain)
    explain.set_defaults(handler=cmd_explain)

    export = commands.add_parser(
        "export", help="the state as Parquet/CSV and Engage's SQL-traits shape"
    )
    _add_paths(export)
    export.add_argument("--out", type=Path, default=None, help="default: DATA_DIR/exports")
    export.add_argument(
        "--format",
        action="append",
        choices=("parquet", "csv"),
        default=None,
        help="repeatable; default both",
    )
    export.add_argument(
        "--consent-records",
        type=Path,
        metavar="DIR",
        help="instead: one JSON consent record per contact vector into DIR (docs/consent.md)",
    )
    export.set_defaults(handler=cmd_export)

    forget = commands.add_parser(
        "forget",
        help="erase a contact everywhere and suppress it (secret: SUBSCRIPTION_ERASURE_SECRET)",
    )
    which = forget.add_mutually_exclusive_group(required=True)
    which.add_argument("contact", nargs="?", help="email address or phone number to erase")
    which.add_argument("--file", type=Path, help="a CSV with a `contact` (and `reason`) column")
    which.add_argument("--lift", metavar="CONTACT", help="end the suppression of a contact")
    forget.add_argument("--reason", help="why (kept in the audit; never the contact)")
    forget.add_argument(
        "--wait", type=float, default=30.0, help="seconds to wait for a busy warehouse"
    )
    _add_paths(forget)
    forget.set_defaults(handler=cmd_forget)

    generate = commands.add_parser("generate", help="write a synthetic landing zone")
    generate.add_argument("--events", type=int, default=100_000)
    generate.add_argument("--contacts", type=int, default=20_000)
    generate.add_argument("--days", type=int, default=7)
    generate.add_argument("--uploads", type=int, default=3)
    generate.add_argument("--rows", type=int, default=10_000)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--start-day", default="2024-03-01")
    add_subscription_share_argument(generate)
    generate.add_argument("--out", type=Path, required=True)
    generate.set_defaults(handler=cmd_generate)

    dev = commands.add_parser("dev", help="start the Dagster UI on the project's instance")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(handler=cmd_dev)

    worker = commands.add_parser(
        "worker", help="a Celery worker for the steps of `--executor celery` runs (dagster-celery)"
    )
    worker.add_argument("--name", default=None, help="worker node name (default: pipeline)")
    worker.add_argument(
        "--concurrency", type=int, default=1, help="steps this worker runs at once (default: 1)"
    )
    worker.add_argument(
        "--max-tasks-per-child",
        type=int,
        default=None,
        help="replace a worker process after this many steps (default: never)",
    )
    worker.set_defaults(handler=cmd_worker)

    serve = commands.add_parser(
        "serve", help="the synchronous update API (bearer tokens from SUBSCRIPTION_API_TOKENS)"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    _add_paths(serve)
    serve.set_defaults(handler=cmd_serve)
    return parser


def silence_beta_warnings() -> None:
    """Dagster warns at every definitions load that `backfill_policy` is beta: three lines of noise
    per call. Only that category from Dagster is silenced; every other warning still shows."""
    # dagster.BetaWarning itself, from the package Dagster defines it in: importing `dagster`
    # here would cost every command (even --help) a second.
    from dagster_shared.utils.warnings import BetaWarning

    warnings.filterwarnings("ignore", category=BetaWarning, module="dagster")


def main(argv: list[str] | None = None) -> int:
    silence_beta_warnings()
    args = build_parser().parse_args(argv)
    if getattr(args, "format", "unset") is None:
        args.format = ["parquet", "csv"]
    code = args.handler(args)
    if argv is None:
        # The program itself, about to exit (a test passes argv): what it allocated goes back to
        # the OS with the process. Frozen, the objects are not collected one by one at exit,
        # which took 0.8 s after a reconcile (loaded definitions, DuckDB, polars, Dagster).
        gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(main())
