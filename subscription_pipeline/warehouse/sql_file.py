"""SQL kept in a package's `.sql` files: a whole file, or its statements by `-- name: X` section.

One loader for every package (ingest's log_parse.sql, resolve's files): statements are complete
SQL, never assembled from fragments, and run with only the parameters each one uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:  # polars only for frame(): the resolution never loads it
    import polars as pl

_SECTION = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)
_PARAMETER = re.compile(r"\$(\w+)")


@cache
def read_sql(package: str, filename: str) -> str:
    """The text of one `.sql` file of `package` (one statement)."""
    return resources.files(package).joinpath(filename).read_text()


@cache
def sections(package: str, filename: str) -> dict[str, str]:
    """The named statements of a `.sql` file, each after its `-- name: X` line."""
    parts = _SECTION.split(read_sql(package, filename))
    # parts = [preamble, name1, body1, name2, body2, ...]
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def bind(sql: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """The parameters `sql` uses: DuckDB refuses parameters a statement does not use."""
    used = set(_PARAMETER.findall(sql))
    return {key: value for key, value in (params or {}).items() if key in used}


def execute(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None
) -> list[tuple]:
    """Run one statement with its own parameters; its rows (none for DDL and writes)."""
    return con.execute(sql, bind(sql, params)).fetchall()


@dataclass(frozen=True)
class SqlFile:
    """The named statements of one `.sql` file with `-- name:` sections."""

    package: str
    filename: str

    def statements(self) -> dict[str, str]:
        return sections(self.package, self.filename)

    def run(
        self, con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None
    ) -> list[tuple]:
        """Execute one named statement; its rows (none for DDL, INSERT, UPDATE)."""
        return execute(con, self.statements()[name], params)

    def frame(
        self, con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None
    ) -> pl.DataFrame:
        """The rows of one named query (duckdb 2: `.pl()` lives on relations, not on execute())."""
        sql = self.statements()[name]
        return con.sql(sql, params=bind(sql, params)).pl()
