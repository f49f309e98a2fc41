"""The statements of log_parse.sql, by name, run with only the parameters each one uses."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import duckdb
import polars as pl

_SECTION = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)
_PARAMETER = re.compile(r"\$(\w+)")


@cache
def statements() -> dict[str, str]:
    text = resources.files("subscription_pipeline.ingest").joinpath("log_parse.sql").read_text()
    parts = _SECTION.split(text)
    # parts = [preamble, name1, body1, name2, body2, ...]
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def _bind(name: str, params: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    # DuckDB refuses parameters a statement does not use: pass only its own.
    sql = statements()[name]
    used = set(_PARAMETER.findall(sql))
    return sql, {key: value for key, value in (params or {}).items() if key in used}


def run(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None) -> None:
    """Execute one named statement that returns no rows (DDL, INSERT, UPDATE)."""
    sql, bound = _bind(name, params)
    con.execute(sql, bound).fetchall()


def frame(
    con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None
) -> pl.DataFrame:
    """The rows of one named query (duckdb 2: `.pl()` lives on relations, not on execute())."""
    sql, bound = _bind(name, params)
    return con.sql(sql, params=bound).pl()
