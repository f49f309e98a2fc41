"""Write the committed sample landing zone: a small random mix plus the story scenarios.

Deterministic: running it again gives byte-identical files. It replaces `uploads/` and
`segment-logs/` under the output folder (default: the repository's `data/`) and touches nothing
else there. data/README.md describes the stories.
"""

from __future__ import annotations

import argparse
import shutil
from datetime import date
from pathlib import Path

from subscription_pipeline.generate import generate_landing_zone
from subscription_pipeline.generate.segment_logs import source_ids
from subscription_pipeline.generate.stories import STORY_DAYS, write_stories
from subscription_pipeline.paths import REPO_ROOT

SEED = 20240301
START_DAY = date(2024, 3, 1)
SOURCES = 2


def make_sample(out: Path) -> str:
    for folder in ("uploads", "segment-logs"):
        shutil.rmtree(out / folder, ignore_errors=True)
    mix = generate_landing_zone(
        out,
        events=320,
        contacts=60,
        days=STORY_DAYS,
        uploads=2,
        rows=40,
        seed=SEED,
        start_day=START_DAY,
        sources=SOURCES,
        files_per_day=2,
    )
    stories = write_stories(out, start_day=START_DAY, source_id=source_ids(SEED, SOURCES)[0])
    return (
        f"random mix: {mix.events} log lines in {mix.log_files} files over {mix.days} days, "
        f"{mix.uploads} uploads with {mix.csv_rows} rows\n"
        f"stories: {stories.events} log lines in {stories.log_files} files "
        f"({stories.corrupt_files} truncated), {stories.uploads} uploads with "
        f"{stories.csv_rows} rows"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "data")
    args = parser.parse_args()
    print(make_sample(args.out))


if __name__ == "__main__":
    main()
