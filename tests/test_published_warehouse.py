"""Analysts read a published copy of the engine file: never locked out, never half a run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from subscription_pipeline import cli, paths
from subscription_pipeline.warehouse.connection import connect, connect_engine
from subscription_pipeline.warehouse.publish import publish

CLI = str(Path(sys.executable).parent / "subscription-pipeline")
COUNTS = (
    "SELECT (SELECT count(*) FROM subscription_state), (SELECT count(*) FROM subscription_history)"
)


def counts(warehouse: Path) -> tuple[int, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        [row] = con.execute(COUNTS).fetchall()
        return row
    finally:
        con.close()


def engine_held(engine: Path) -> bool:
    """Does a process hold a write lock on the engine file? Read from /proc/locks, so asking
    takes no lock that could delay the pipeline."""
    if not engine.exists():
        return False
    inode = f":{engine.stat().st_ino} "
    return any(
        "WRITE" in line and inode in line for line in Path("/proc/locks").read_text().splitlines()
    )


def test_publish_swaps_the_whole_file_and_leaves_open_readers_alone(tmp_path: Path) -> None:
    published = tmp_path / "warehouse.duckdb"
    con = connect_engine(published)
    con.execute("CREATE TABLE probe (name VARCHAR)")
    con.execute("INSERT INTO probe VALUES ('a')")
    first = publish(con, published)
    assert first.path == published and first.size_bytes == published.stat().st_size

    reader = duckdb.connect(str(published), read_only=True)  # opened before the next publish
    con.execute("INSERT INTO probe VALUES ('b')")
    publish(con, published)
    con.close()
    assert reader.execute("SELECT count(*) FROM probe").fetchall() == [(1,)]
    reader.close()
    fresh = duckdb.connect(str(published), read_only=True)
    assert fresh.execute("SELECT count(*) FROM probe").fetchall() == [(2,)]
    fresh.close()
    assert not published.with_name("warehouse.duckdb.publishing").exists()


def test_a_warehouse_from_before_the_engine_file_is_adopted(tmp_path: Path) -> None:
    """An existing warehouse (with its WAL, as a killed writer leaves it) keeps its data."""
    old = tmp_path / "warehouse.duckdb"
    con = connect(old)
    con.execute("SET checkpoint_threshold = '1GB'")  # leave the insert in the WAL
    con.execute("CREATE TABLE probe AS SELECT 'a' AS name")
    shutil.copy(old, tmp_path / "copy.duckdb")
    shutil.copy(str(old) + ".wal", tmp_path / "copy.duckdb.wal")
    con.close()
    (tmp_path / "copy.duckdb").replace(old)
    (tmp_path / "copy.duckdb.wal").replace(str(old) + ".wal")

    engine = connect_engine(old)
    assert engine.execute("SELECT name FROM probe").fetchall() == [("a",)]
    publish(engine, old)
    engine.close()
    assert paths.engine_warehouse(old).exists()
    assert not Path(str(old) + ".wal").exists()  # the old WAL went with the old file
    reader = duckdb.connect(str(old), read_only=True)
    assert reader.execute("SELECT name FROM probe").fetchall() == [("a",)]
    reader.close()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_readers_never_fail_and_see_before_or_after_while_a_reconcile_runs(
    dagster_home: Path, sample_landing_zone: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    logs = sample_landing_zone / "segment-logs"
    aside = tmp_path / "logs-aside"
    logs.rename(aside)
    first = subprocess.run(
        [CLI, "reconcile", "--data-dir", str(sample_landing_zone), "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=600,
    )
    assert first.returncode == 0, first.stderr
    before = counts(warehouse)

    aside.rename(logs)
    run = subprocess.Popen(
        [CLI, "reconcile", "--data-dir", str(sample_landing_zone), "--warehouse", str(warehouse)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    engine = paths.engine_warehouse(warehouse)
    seen: list[tuple[int, int]] = []
    reads_while_held = 0
    commands_while_held: list[int] = []
    while run.poll() is None:
        held = engine_held(engine)
        seen.append(counts(warehouse))  # raises if the file cannot be opened or read
        reads_while_held += held
        if held and not commands_while_held:
            commands_while_held = [
                cli.main(["explain", "+17202634410", "--warehouse", str(warehouse)]),
                cli.main(
                    ["export", "--warehouse", str(warehouse), "--out", str(tmp_path / "exports")]
                ),
            ]
        time.sleep(0.02)
    out, err = run.communicate()
    assert run.returncode == 0, err
    after = counts(warehouse)

    assert after != before
    assert set(seen) <= {before, after}, "a reader saw neither the old state nor the new one"
    assert reads_while_held > 0, "no read happened while the reconcile held the engine"
    assert commands_while_held == [0, 0]
