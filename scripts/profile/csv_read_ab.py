"""Reading uploads, old reader against new, in one process: best of N seconds per file.

    python scripts/profile/csv_read_ab.py OLD_CHECKOUT LANDING_ZONE [N]

OLD_CHECKOUT holds an older `subscription_pipeline/ingest/csv_read.py` (e.g. from
`git archive <commit> subscription_pipeline | tar -x -C OLD_CHECKOUT`); its `parse_upload`
is loaded beside the current one and both read the same bytes, alternately.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

from subscription_pipeline.ingest.csv_read import parse_upload
from subscription_pipeline.ingest.csv_upload import list_uploads


def _old_parse(checkout: Path):
    path = checkout / "subscription_pipeline" / "ingest" / "csv_read.py"
    spec = importlib.util.spec_from_file_location("old_csv_read", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.parse_upload


def _seconds(parse, data: bytes) -> float:
    started = time.perf_counter()
    parse(data, 10**9)
    return time.perf_counter() - started


def main() -> None:
    old_parse = _old_parse(Path(sys.argv[1]))
    data_dir = Path(sys.argv[2])
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    totals = {"old": 0.0, "new": 0.0}
    for name in list_uploads(data_dir):
        data = (data_dir / "uploads" / name).read_bytes()
        old = new = float("inf")
        for _ in range(repeat):
            old = min(old, _seconds(old_parse, data))
            new = min(new, _seconds(parse_upload, data))
        rows = parse_upload(data, 10**9).rows.height
        print(f"{name}: {rows} rows, {len(data) / 1e6:.1f} MB, old {old:.2f} s, new {new:.2f} s")
        totals["old"] += old
        totals["new"] += new
    print(f"total: old {totals['old']:.2f} s, new {totals['new']:.2f} s")


if __name__ == "__main__":
    main()
