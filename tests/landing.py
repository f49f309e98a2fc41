"""The committed sample landing zone, copied for a test (inputs only, never written in place)."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = REPO_ROOT / "data"


def copy_sample_inputs(target: Path) -> Path:
    """uploads/ and segment-logs/ of data/ into `target`, which is returned."""
    target.mkdir(parents=True)
    for folder in ("uploads", "segment-logs"):
        shutil.copytree(SAMPLE_DATA / folder, target / folder, symlinks=True)
    return target
