"""Finding log days and files, and reading a file into exactly numbered lines."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from subscription_pipeline.ingest.event_logs import list_log_days, log_files_for_day
from subscription_pipeline.ingest.log_layout import day_to_epoch_ms, epoch_ms_to_day
from subscription_pipeline.ingest.log_read import CorruptLogError, read_log_lines
from tests.log_files import day_dir, write_log


def test_day_names_are_utc_midnight_epoch_ms() -> None:
    assert day_to_epoch_ms("2024-03-15") == 1710460800000
    assert epoch_ms_to_day("1710460800000") == "2024-03-15"
    assert epoch_ms_to_day("latest") is None


def test_days_and_files_across_sources(tmp_path: Path) -> None:
    a = write_log(tmp_path, "2024-03-15", "b.gz", [{}], source_id="web")
    b = write_log(tmp_path, "2024-03-15", "a.jsonl", [{}], source_id="ios")
    c = write_log(tmp_path, "2024-03-16", "c.json", [{}], source_id="web")
    (day_dir(tmp_path, "2024-03-15", "web") / "notes.txt").write_text("not a log")
    (tmp_path / "segment-logs" / "web" / "not-a-day").mkdir()

    assert list_log_days(tmp_path) == ["2024-03-15", "2024-03-16"]
    assert log_files_for_day(tmp_path, "2024-03-15") == sorted([a, b])
    assert log_files_for_day(tmp_path, "2024-03-16") == [c]
    assert log_files_for_day(tmp_path, "2024-03-17") == []
    assert list_log_days(tmp_path / "nowhere") == []


def test_links_are_listed_but_linked_folders_are_not_walked(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.gz").write_bytes(gzip.compress(b"{}\n"))
    folder = day_dir(tmp_path, "2024-03-15")
    os.symlink(outside / "x.gz", folder / "link.gz")
    # A whole linked day folder is outside the landing zone.
    linked_day = tmp_path / "segment-logs" / "src-web" / str(day_to_epoch_ms("2024-03-20"))
    os.symlink(outside, linked_day)

    assert log_files_for_day(tmp_path, "2024-03-15") == [
        f"segment-logs/src-web/{day_to_epoch_ms('2024-03-15')}/link.gz"
    ]
    assert list_log_days(tmp_path) == ["2024-03-15"]


def _read(path: Path, chunk_bytes: int = 1 << 20) -> list[dict]:
    return [row for batch in read_log_lines(path, chunk_bytes) for row in batch.to_pylist()]


@pytest.mark.parametrize("chunk_bytes", [3, 7, 1 << 20])
def test_lines_are_numbered_exactly_whatever_the_chunk(tmp_path: Path, chunk_bytes: int) -> None:
    path = tmp_path / "a.gz"
    path.write_bytes(gzip.compress(b'\xef\xbb\xbf{"a":1}\r\n\n{"b":\xff}\n{"c":"\xc3\xa9"}'))

    rows = _read(path, chunk_bytes)

    assert rows == [
        {"line_number": 1, "line": '{"a":1}', "bad_utf8": False},
        {"line_number": 2, "line": "", "bad_utf8": False},
        {"line_number": 3, "line": '{"b":\ufffd}', "bad_utf8": True},
        {"line_number": 4, "line": '{"c":"é"}', "bad_utf8": False},
    ]


def test_truncated_gzip_is_corrupt(tmp_path: Path) -> None:
    payload = gzip.compress(b'{"a":1}\n' * 1000)
    path = tmp_path / "t.gz"
    path.write_bytes(payload[:-12])

    with pytest.raises(CorruptLogError):
        _read(path)


def test_plain_json_file_and_empty_gzip(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_bytes(b'{"a":1}\n{"a":2}\n')
    (tmp_path / "e.gz").write_bytes(gzip.compress(b""))

    assert [row["line_number"] for row in _read(tmp_path / "p.json")] == [1, 2]
    assert _read(tmp_path / "e.gz") == []
