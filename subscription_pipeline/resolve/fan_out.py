"""The resolution as steps on any worker: export by bucket, replay off the warehouse, load.

DuckDB has one writer per file, so the bucket steps never open the warehouse:
1. `export_plan` (the writer) stores the plan (buckets.py) and writes each remaining bucket's
   observations and vectors as Parquet under DATA_DIR/staging/resolution/;
2. `compute_bucket` (anywhere, any number at once) replays one bucket in a private in-memory
   DuckDB with the same SQL files and writes its state and history rows as Parquet, built in a
   temporary folder and renamed into place;
3. `load_buckets` (the writer) writes each computed bucket in its own transaction, as the
   in-process path does, clearing its dirty vectors and striking it off the plan.
Vectors queued while the workers ran are not lost: a bucket clears its dirty vectors only when
dirty_vectors holds exactly the rows the plan expects; otherwise they stay for the next run.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import duckdb

from subscription_pipeline.resolve import buckets, engine
from subscription_pipeline.resolve.sql import ENGINE
from subscription_pipeline.warehouse.connection import (
    default_memory_limit,
    schema_sql,
    transaction,
)

STAGING = Path("staging") / "resolution"


def staging_dir(data_dir: Path) -> Path:
    return data_dir / STAGING


def _bucket_files(folder: Path, part: str, bucket: int) -> list[str]:
    return sorted(str(path) for path in (folder / part / f"bucket={bucket}").glob("*.parquet"))


def _output(folder: Path, bucket: int) -> Path:
    return folder / "rows" / f"bucket={bucket}"


def plan_fan_out(
    con: duckdb.DuckDBPyConnection,
    data_dir: Path,
    *,
    count: int | None = None,
    min_vectors: int = 0,
) -> buckets.Plan:
    """The writer's first step: an interrupted plan, or a new one, exported for the workers.

    `count` buckets when at least `min_vectors` rows are queued, else as the memory limit
    needs. A plan of one bucket is not exported: the caller resolves it in place (small scale).
    """
    plan = buckets.pending_plan(con)
    if plan is None:
        [(queued,)] = ENGINE.run(con, "dirty_rows")
        plan = engine.new_plan(
            con,
            full=False,
            fraction=engine.FULL_REBUILD_FRACTION,
            count=count if queued >= max(min_vectors, 1) else None,
        )
    if plan.buckets > 1:
        export_plan(con, data_dir, plan)
    return plan


def export_plan(con: duckdb.DuckDBPyConnection, data_dir: Path, plan: buckets.Plan) -> None:
    folder = staging_dir(data_dir)
    shutil.rmtree(folder, ignore_errors=True)  # a previous attempt's files: this plan rewrites
    folder.mkdir(parents=True)
    where = {"buckets": plan.buckets, "remaining": list(plan.remaining)}
    with transaction(con):  # a consistent read of the tables; temporaries dropped at the end
        if plan.rebuild:
            ENGINE.run(con, "export_rebuild_observations", where | {"folder": str(folder / "in")})
            ENGINE.run(con, "export_rebuild_vectors", where | {"folder": str(folder / "vectors")})
        else:
            ENGINE.run(con, "dirty_from_queue")
            engine.scope_dirty(con)
            ENGINE.run(con, "export_dirty_observations", where | {"folder": str(folder / "in")})
            ENGINE.run(con, "export_dirty_vectors", where | {"folder": str(folder / "vectors")})
        ENGINE.run(con, "drop_temporaries")


def compute_bucket(data_dir: Path, bucket: int, memory_limit: str | None = None) -> Path:
    """Replay one exported bucket without the warehouse; its rows' folder (replaced if there)."""
    folder = staging_dir(data_dir)
    target = _output(folder, bucket)
    building = target.with_name(f".tmp-{target.name}-{uuid.uuid4().hex}")
    building.mkdir(parents=True)
    con = duckdb.connect()
    try:
        # Bounded like the warehouse's connections, spilling beside the staged files.
        con.execute("SET memory_limit = ?", [memory_limit or default_memory_limit()])
        con.execute("SET temp_directory = ?", [str(folder / ".duckdb_tmp")])
        con.execute("SET preserve_insertion_order = false")
        con.execute(schema_sql())  # the warehouse tables, empty, for the replay to write
        ENGINE.run(con, "bucket_vectors_empty")
        vectors = _bucket_files(folder, "vectors", bucket)
        if vectors:
            ENGINE.run(con, "bucket_vectors_read", {"files": vectors})
        ENGINE.run(con, "vectors_dirty")
        ENGINE.run(con, "bucket_scope_empty")
        observations = _bucket_files(folder, "in", bucket)
        if observations:
            ENGINE.run(con, "bucket_scope_read", {"files": observations})
        ENGINE.run(con, "bucket_input")
        engine.replay(con, full=False)
        ENGINE.run(con, "bucket_state_out", {"path": str(building / "state.parquet")})
        ENGINE.run(con, "bucket_history_out", {"path": str(building / "history.parquet")})
        ENGINE.run(con, "bucket_vectors_out", {"path": str(building / "vectors.parquet")})
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    finally:
        con.close()
    shutil.rmtree(target, ignore_errors=True)
    building.rename(target)
    return target


def load_buckets(
    con: duckdb.DuckDBPyConnection,
    data_dir: Path,
    after_bucket: engine.AfterBucket | None = None,
) -> tuple[int, int, int]:
    """Write every computed bucket of the pending plan, one transaction each; (vectors, state
    rows, history rows). A bucket without computed rows stays planned (the next run does it)."""
    plan = buckets.pending_plan(con)
    totals = (0, 0, 0)
    folder = staging_dir(data_dir)
    if plan is None:
        shutil.rmtree(folder, ignore_errors=True)  # nothing planned: any files here are stale
        return totals
    for bucket in plan.remaining:
        rows = _output(folder, bucket)
        if not (rows / "history.parquet").exists():
            continue
        with transaction(con):
            counts = _load_bucket(con, buckets.pending_plan(con) or plan, bucket, rows)
        totals = engine.add_counts(totals, counts)
        if after_bucket is not None:
            after_bucket(bucket)
    if buckets.pending_plan(con) is None:
        shutil.rmtree(folder, ignore_errors=True)
    return totals


def _load_bucket(
    con: duckdb.DuckDBPyConnection, plan: buckets.Plan, bucket: int, rows: Path
) -> tuple[int, int, int]:
    where = {"buckets": plan.buckets, "bucket": bucket}
    state, history = str(rows / "state.parquet"), str(rows / "history.parquet")
    ENGINE.run(con, "bucket_vectors_empty")
    ENGINE.run(con, "bucket_vectors_read", {"files": [str(rows / "vectors.parquet")]})
    ENGINE.run(con, "bucket_live")
    if plan.rebuild:
        ENGINE.run(con, "delete_bucket_state", where)
        ENGINE.run(con, "delete_bucket_history", where)
        ENGINE.run(con, "insert_history_file", {"path": history})
    else:
        ENGINE.run(con, "delete_dirty_state")
        ENGINE.run(con, "history_new_file")
        ENGINE.run(con, "history_new_file_rows", {"path": history})
        engine.run_file(con, "history_changed.sql")
        ENGINE.run(con, "delete_changed_history")
        ENGINE.run(con, "insert_changed_history")
    ENGINE.run(con, "insert_state_file", {"path": state})
    [(vectors,)] = ENGINE.run(con, "dirty_count")
    [(state_rows,)] = ENGINE.run(con, "file_rows", {"path": state})
    [(history_rows,)] = ENGINE.run(con, "file_rows", {"path": history})
    [(queued,)] = ENGINE.run(con, "dirty_rows")
    ENGINE.run(con, "plan_bucket_written", {"bucket": bucket})
    if queued == plan.queued:  # nothing was queued since the export: the bucket is current
        ENGINE.run(con, "clear_dirty_bucket", where)
        ENGINE.run(con, "plan_queued")
    # Otherwise its vectors stay queued, and `queued` stays stale so later buckets keep theirs.
    ENGINE.run(con, "drop_temporaries")
    return vectors, state_rows, history_rows
