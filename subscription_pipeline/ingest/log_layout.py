"""Where Segment's S3 destination puts event logs: segment-logs/<source-id>/<received-day>/<file>.

<received-day> is the UTC midnight of the day Segment received the events, in epoch
milliseconds. Directories are walked without following symbolic links: a linked source or day
folder is not part of the landing zone. Files are listed whatever they are (links included) so
that the ingest can reject a non-regular one on the record instead of skipping it silently.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

LOGS_DIR = "segment-logs"
LOG_SUFFIXES = (".gz", ".json", ".jsonl")
_MS_PER_DAY = 86_400_000


def day_start(day: str) -> datetime:
    """The received day's UTC midnight, as a naive UTC datetime (how the warehouse stores time)."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time())


def day_to_epoch_ms(day: str) -> int:
    return int(day_start(day).replace(tzinfo=UTC).timestamp() * 1000)


def epoch_ms_to_day(name: str) -> str | None:
    """'1710460800000' -> '2024-03-15'; None for a folder name that is not a day."""
    if not name.isdigit():
        return None
    return (datetime(1970, 1, 1) + timedelta(milliseconds=int(name))).date().isoformat()


def _real_dirs(parent: Path) -> list[Path]:
    if not parent.is_dir() or parent.is_symlink():
        return []
    return [child for child in parent.iterdir() if child.is_dir() and not child.is_symlink()]


def _day_dirs(data_dir: Path) -> list[tuple[str, Path]]:
    found = []
    for source in _real_dirs(Path(data_dir) / LOGS_DIR):
        for day_dir in _real_dirs(source):
            day = epoch_ms_to_day(day_dir.name)
            if day is not None:
                found.append((day, day_dir))
    return found


def list_log_days(data_dir: Path) -> list[str]:
    """Received days present under data_dir/segment-logs/<source-id>/<day-epoch-ms>/, as
    'YYYY-MM-DD' (UTC), sorted."""
    return sorted({day for day, _ in _day_dirs(data_dir)})


def log_files_for_day(data_dir: Path, day: str) -> list[str]:
    """Paths relative to data_dir of every entry for that day across all sources (*.gz, *.json,
    *.jsonl), sorted; includes non-regular entries so they are rejected NOT_A_REGULAR_FILE."""
    data_dir = Path(data_dir)
    files = [
        entry.relative_to(data_dir).as_posix()
        for found_day, day_dir in _day_dirs(data_dir)
        if found_day == day
        for entry in day_dir.iterdir()
        if entry.name.endswith(LOG_SUFFIXES)
    ]
    return sorted(files)
