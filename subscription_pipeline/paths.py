"""Where the project's files live, derived from the repository root, never from the cwd."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_data_dir() -> Path:
    return Path(os.environ.get("SUBSCRIPTION_DATA_DIR", REPO_ROOT / "data")).resolve()


def default_warehouse(data_dir: Path | None = None) -> Path:
    env = os.environ.get("SUBSCRIPTION_WAREHOUSE")
    if env:
        return Path(env).resolve()
    return (data_dir or default_data_dir()) / "warehouse.duckdb"


def engine_warehouse(warehouse: Path) -> Path:
    """The file the pipeline writes; `warehouse`, the analysts' file, is a published copy of it."""
    return warehouse.with_name(f"{warehouse.stem}.engine{warehouse.suffix}")


def default_dagster_home() -> Path:
    """DAGSTER_HOME must be absolute: use the environment's if set, else the repo's folder."""
    env = os.environ.get("DAGSTER_HOME")
    return Path(env).resolve() if env else REPO_ROOT / "dagster_home"
