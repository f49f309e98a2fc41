"""Where Segment's S3 destination puts event logs: segment-logs/<source-id>/<received-day>/<file>.

<received-day> is the UTC midnight of the day Segment received the events, in epoch
milliseconds. Directories are walked without following symbolic links: a linked source or day
folder is not part of the landing zone. Files are listed whatever they are (links included) so
that the ingest can reject a non-regular one on the record instead of skipping it silently.

A day folder whose name is not such a midnight (seconds, microseconds, `YYYYMMDD`, any other
name), or a day outside the partitions (before FIRST_LOG_DAY, after today), is an odd folder:
it is never read, and the ingest puts it on record with its code (`odd_day_folders`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from subscription_pipeline.errors import FileError

LOGS_DIR = "segment-logs"
# Matched whatever their case (`.GZ` from some S3 tools is still a gzip file).
LOG_SUFFIXES = (".gz", ".json", ".jsonl")
# The first received day the pipeline partitions (Segment's S3 destination dates from later).
FIRST_LOG_DAY = "2015-01-01"
_MS_PER_DAY = 86_400_000
_CANONICAL_MS = re.compile(r"[1-9][0-9]{0,15}")


@dataclass(frozen=True)
class OddDayFolder:
    """A folder under a source that is not a received day the pipeline can ingest."""

    path: str  # relative to the data directory
    error_code: FileError
    error_message: str


def day_start(day: str) -> datetime:
    """The received day's UTC midnight, as a naive UTC datetime (how the warehouse stores time)."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time())


def day_to_epoch_ms(day: str) -> int:
    return int(day_start(day).replace(tzinfo=UTC).timestamp() * 1000)


def is_gzip(name: str) -> bool:
    return name.lower().endswith(".gz")


def is_log_file(name: str) -> bool:
    return name.lower().endswith(LOG_SUFFIXES)


def _today() -> date:
    return datetime.now(UTC).date()


def judge_day_folder(name: str, today: date | None = None) -> str | OddDayFolder:
    """'1710460800000' -> '2024-03-15'; anything else -> why it is not a day (path left empty)."""
    expected = "expected the UTC midnight of the received day in epoch milliseconds"
    if not _CANONICAL_MS.fullmatch(name):
        return OddDayFolder("", FileError.INVALID_DAY_FOLDER, f"{name!r}: {expected}")
    ms = int(name)
    if ms % _MS_PER_DAY:
        hint = " (it looks like YYYYMMDD)" if len(name) == 8 else ""
        hint = hint or (" (it looks like epoch seconds)" if len(name) <= 11 else "")
        return OddDayFolder(
            "", FileError.INVALID_DAY_FOLDER, f"{name!r} is not a UTC midnight{hint}: {expected}"
        )
    try:
        day = (datetime(1970, 1, 1) + timedelta(milliseconds=ms)).date()
    except OverflowError:
        return OddDayFolder(
            "",
            FileError.INVALID_DAY_FOLDER,
            f"{name!r} is beyond any calendar date (epoch microseconds?): {expected}",
        )
    last = today or _today()
    if day < date.fromisoformat(FIRST_LOG_DAY) or day > last:
        return OddDayFolder(
            "",
            FileError.DAY_OUT_OF_RANGE,
            f"{name!r} is the received day {day.isoformat()}, outside the log partitions "
            f"({FIRST_LOG_DAY} to today, {last.isoformat()})",
        )
    return day.isoformat()


def epoch_ms_to_day(name: str) -> str | None:
    """'1710460800000' -> '2024-03-15'; None for a folder name that is not an ingestible day."""
    judged = judge_day_folder(name)
    return judged if isinstance(judged, str) else None


def _real_dirs(parent: Path) -> list[Path]:
    if not parent.is_dir() or parent.is_symlink():
        return []
    return [child for child in parent.iterdir() if child.is_dir() and not child.is_symlink()]


def _day_dirs(data_dir: Path) -> tuple[list[tuple[str, Path]], list[OddDayFolder]]:
    found, odd = [], []
    for source in _real_dirs(Path(data_dir) / LOGS_DIR):
        for day_dir in _real_dirs(source):
            judged = judge_day_folder(day_dir.name)
            if isinstance(judged, str):
                found.append((judged, day_dir))
            else:
                path = day_dir.relative_to(data_dir).as_posix()
                odd.append(OddDayFolder(path, judged.error_code, judged.error_message))
    return found, odd


def list_log_days(data_dir: Path) -> list[str]:
    """Received days present under data_dir/segment-logs/<source-id>/<day-epoch-ms>/, as
    'YYYY-MM-DD' (UTC), sorted."""
    return sorted({day for day, _ in _day_dirs(data_dir)[0]})


def odd_day_folders(data_dir: Path) -> list[OddDayFolder]:
    """Every folder under a source that is not an ingestible received day, sorted by path."""
    return sorted(_day_dirs(data_dir)[1], key=lambda folder: folder.path)


def log_files_for_day(data_dir: Path, day: str) -> list[str]:
    """Paths relative to data_dir of every entry for that day across all sources (*.gz, *.json,
    *.jsonl, any case), sorted; includes non-regular entries so they are rejected
    NOT_A_REGULAR_FILE."""
    data_dir = Path(data_dir)
    files = [
        entry.relative_to(data_dir).as_posix()
        for found_day, day_dir in _day_dirs(data_dir)[0]
        if found_day == day
        for entry in day_dir.iterdir()
        if is_log_file(entry.name)
    ]
    return sorted(files)
