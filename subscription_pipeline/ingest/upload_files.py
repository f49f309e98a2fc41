"""Where Engage CSV uploads land, and which entries there are uploads.

Apart from the ingestion so that finding what is new (every reconcile, with nothing to do most
nights) imports neither polars nor the validation models.
"""

from __future__ import annotations

import os
from pathlib import Path

UPLOADS_DIR = "uploads"


def list_uploads(data_dir: Path) -> list[str]:
    """Names of entries in data_dir/uploads ending .csv (any case), sorted.

    Non-regular entries (symlinks etc.) are included so that they get rejected with
    NOT_A_REGULAR_FILE, never followed.
    """
    folder = Path(data_dir) / UPLOADS_DIR
    if not folder.is_dir():
        return []
    with os.scandir(folder) as entries:
        return sorted(entry.name for entry in entries if entry.name.lower().endswith(".csv"))
