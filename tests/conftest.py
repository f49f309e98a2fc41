"""Shared fixtures: every test gets its own DuckDB file and Dagster instance under tmp_path."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from hypothesis import settings

from subscription_pipeline.warehouse.connection import connect
from tests.hypothesis_profiles import choose_profile
from tests.landing import REPO_ROOT, copy_sample_inputs


def pytest_configure(config: pytest.Config) -> None:
    # Before any test module is imported, so that `examples(n)` in their decorators sees it.
    settings.load_profile(choose_profile(config.option.markexpr or ""))
    # Before tmp_path's base folder is made (lazily, at the first test that asks for one).
    tempfile.tempdir = memory_backed_temp() or tempfile.tempdir


def memory_backed_temp() -> str | None:
    """/dev/shm, unless TMPDIR is set or it is missing or short of room: every test writes a
    DuckDB or SQLite file, and on a disk each commit and checkpoint waits for a sync (about a
    fifth of the fast subset's wall time on a small VM). No test relies on that sync: a killed
    process's writes survive in the page cache on any file system."""
    shm = Path("/dev/shm")
    if os.environ.get("TMPDIR") or not (shm.is_dir() and os.access(shm, os.W_OK)):
        return None
    return str(shm) if shutil.disk_usage(shm).free >= 4 * 2**30 else None


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh instance configured like the project's (same dagster.yaml), never the repo's."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def sample_landing_zone(tmp_path: Path) -> Path:
    """A copy of the committed sample data (inputs only), so a test never writes into data/."""
    return copy_sample_inputs(tmp_path / "data")


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A new, empty warehouse (schema applied) under tmp_path."""
    connection = connect(tmp_path / "warehouse.duckdb")
    yield connection
    connection.close()
