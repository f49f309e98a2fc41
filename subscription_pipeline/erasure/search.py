"""Finding a contact anywhere: every VARCHAR column of the warehouse, every written file.

`forget` runs these after a purge and says what remains; the tests use them as the proof.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

# What the pipeline writes under the data directory; the rest (the landing zone's raw inputs,
# its README) is the user's, left untouched by an erasure (docs/consent.md says how to purge).
# `snapshot` holds the staged snapshot (.staged/) too; `staging` the staged log days (Parquet).
WRITTEN_DIRS = (
    "exports",
    "reports",
    "snapshot",
    "inbox",
    "erasure",
    "consent-records",
    "staging",
)
WAREHOUSE_SUFFIXES = (".duckdb", ".duckdb.wal")


def text_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, bool]]:
    """(table, column, nullable) of every VARCHAR column of the warehouse's base tables."""
    return con.execute(
        """
        SELECT c.table_name, c.column_name, c.is_nullable
        FROM duckdb_columns() c
        JOIN duckdb_tables() t USING (database_name, schema_name, table_name)
        WHERE c.database_name = current_database() AND c.schema_name = 'main'
          AND NOT t.temporary AND c.data_type = 'VARCHAR'
        ORDER BY 1, 2
        """
    ).fetchall()


def find_in_warehouse(
    con: duckdb.DuckDBPyConnection, spellings: list[str]
) -> list[tuple[str, str, int]]:
    """(table, column, rows) wherever a value contains a spelling, case-insensitively."""
    found = []
    for table, column, _ in text_columns(con):
        # Names come from the catalogue, quoted; values travel as parameters.
        [(rows,)] = con.execute(
            f'SELECT count(*) FROM "{table}" '
            f'WHERE list_bool_or([contains(lower("{column}"), s) FOR s IN ?])',
            [spellings],
        ).fetchall()
        if rows:
            found.append((table, column, rows))
    return found


def written_files(data_dir: Path, extra: list[Path] | None = None) -> list[Path]:
    """Every file the pipeline wrote under the data directory (and `extra` files that exist)."""
    data_dir = Path(data_dir)
    found = {
        path for name in WRITTEN_DIRS for path in (data_dir / name).rglob("*") if path.is_file()
    }
    found |= {
        path
        for path in data_dir.iterdir()
        if path.is_file() and path.name.endswith(WAREHOUSE_SUFFIXES)
    }
    found |= {Path(path) for path in extra or [] if Path(path).is_file()}
    return sorted(found)


def find_in_files(
    data_dir: Path, spellings: list[str], extra: list[Path] | None = None
) -> list[Path]:
    """The written files that hold a spelling (ASCII case-insensitively): in their bytes, or for
    a Parquet file in its values."""
    needles = [s.lower().encode() for s in spellings]
    return [
        path
        for path in written_files(data_dir, extra)
        if any(needle in path.read_bytes().lower() for needle in needles)
        or (path.suffix.lower() == ".parquet" and _parquet_holds(path, spellings))
    ]


def _parquet_holds(path: Path, spellings: list[str]) -> bool:
    """Parquet compresses its pages, so a value that is there may not show in the bytes (the
    published snapshot did not): each row is read back as text instead."""
    con = duckdb.connect()
    try:
        [(rows,)] = con.execute(
            "SELECT count(*) FROM read_parquet(?) t "
            "WHERE list_bool_or([contains(lower(t::VARCHAR), s) FOR s IN ?])",
            [str(path), [s.lower() for s in spellings]],
        ).fetchall()
    finally:
        con.close()
    return rows > 0
