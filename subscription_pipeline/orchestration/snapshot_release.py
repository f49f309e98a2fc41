"""The API snapshot goes out only after the blocking checks of the state passed.

The resolution stages the snapshot (written in the same step, so its inbox watermark matches
the state exactly); the `api_snapshot` asset, downstream of the state's blocking checks,
moves it into the place the service reads. A run whose checks fail never gets that far: the
service keeps answering from the last snapshot that passed.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from subscription_pipeline.api.published_state import publish_snapshot, snapshot_path

STAGING_DIR = Path("snapshot") / ".staged"


def staged_path(data_dir: Path) -> Path:
    return snapshot_path(data_dir / STAGING_DIR)


def stage_snapshot(con: duckdb.DuckDBPyConnection, data_dir: Path) -> Path:
    return publish_snapshot(con, data_dir / STAGING_DIR)


def release_snapshot(data_dir: Path) -> Path | None:
    """Publish the staged snapshot (atomic rename); None when nothing new was staged."""
    staged = staged_path(data_dir)
    if not staged.exists():
        return None
    target = snapshot_path(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, target)
    return target
