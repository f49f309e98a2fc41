"""Ways to publish the analysts' copy of an engine warehouse, timed on a copy of a real one.

python scripts/profile/publish_options.py ENGINE.duckdb [ROUNDS]

Each option writes a complete new file beside the target and renames it over the old one
(os.replace); the file is fsynced first so that a crash never leaves a renamed, empty file.
- copy_from_database: ATTACH a new file, COPY FROM DATABASE engine TO it, DETACH;
- copy_no_wal: the same, the new file attached with RECOVERY_MODE no_wal_writes;
- table_by_table: ATTACH, CREATE TABLE AS SELECT for each table, the views re-created;
- file_copy: FORCE CHECKPOINT on the engine, then a byte copy of its file.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from subscription_pipeline.warehouse.connection import connect
from subscription_pipeline.warehouse.publish import database_path, fsync, quote_identifier


def _engine_name(con: duckdb.DuckDBPyConnection) -> str:
    [(name,)] = con.execute("SELECT current_database()").fetchall()
    return quote_identifier(name)


def copy_from_database(con: duckdb.DuckDBPyConnection, new: Path, options: str = "") -> None:
    con.execute(f"ATTACH ? AS publishing {options}", [str(new)])
    try:
        con.execute(f"COPY FROM DATABASE {_engine_name(con)} TO publishing")
    finally:
        con.execute("DETACH publishing")


def copy_no_wal(con: duckdb.DuckDBPyConnection, new: Path) -> None:
    copy_from_database(con, new, "(RECOVERY_MODE no_wal_writes)")


def table_by_table(con: duckdb.DuckDBPyConnection, new: Path) -> None:
    con.execute("ATTACH ? AS publishing", [str(new)])
    try:
        tables = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
        for (table,) in tables:
            con.execute(f'CREATE TABLE publishing."{table}" AS SELECT * FROM "{table}"')
        views = con.execute(
            "SELECT sql FROM duckdb_views() WHERE database_name = current_database() "
            "AND NOT internal ORDER BY view_oid"
        ).fetchall()
        engine = _engine_name(con)
        con.execute("USE publishing")
        try:
            for (sql,) in views:
                con.execute(sql)
        finally:
            con.execute(f"USE {engine}")
    finally:
        con.execute("DETACH publishing")


def file_copy(con: duckdb.DuckDBPyConnection, new: Path) -> None:
    path = database_path(con)
    con.execute("FORCE CHECKPOINT")
    shutil.copyfile(path, new)


OPTIONS: dict[str, Callable[[duckdb.DuckDBPyConnection, Path], None]] = {
    "copy_from_database": copy_from_database,
    "copy_no_wal": copy_no_wal,
    "table_by_table": table_by_table,
    "file_copy": file_copy,
}


def main() -> None:
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    with tempfile.TemporaryDirectory(dir=Path(sys.argv[1]).parent) as folder:
        engine = Path(folder) / "engine.duckdb"
        shutil.copy(sys.argv[1], engine)
        published = Path(folder) / "published.duckdb"
        con = connect(engine)
        print(f"engine file {engine.stat().st_size / 2**20:.0f} MiB")
        for _ in range(rounds):
            for name, publish in OPTIONS.items():
                new = published.with_name("published.duckdb.publishing")
                started = time.perf_counter()
                publish(con, new)
                written = time.perf_counter()
                fsync(new)
                os.replace(new, published)
                done = time.perf_counter()
                reader = duckdb.connect(str(published), read_only=True)
                [(rows,)] = reader.execute("SELECT count(*) FROM subscription_history").fetchall()
                reader.close()
                print(
                    f"{name:20s} write {written - started:6.2f} s  fsync+rename "
                    f"{done - written:5.2f} s  file {published.stat().st_size / 2**20:5.0f} MiB  "
                    f"history rows {rows}"
                )
        con.close()


if __name__ == "__main__":
    main()
