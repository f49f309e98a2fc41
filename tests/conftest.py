"""Shared fixtures: every test gets its own DuckDB file and Dagster instance under tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = REPO_ROOT / "data"


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
    target = tmp_path / "data"
    target.mkdir()
    for folder in ("uploads", "segment-logs"):
        shutil.copytree(SAMPLE_DATA / folder, target / folder, symlinks=True)
    return target
