"""The landing-zone generator: determinism, layout, counts, realistic defects, the sample."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sys
import zlib
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import phonenumbers
import pytest

from subscription_pipeline.generate import GenerateSummary, generate_landing_zone, segment_logs
from subscription_pipeline.generate import contacts as pool
from subscription_pipeline.generate import segment_messages as messages_module
from subscription_pipeline.generate.stories import SCENARIOS
from subscription_pipeline.generate.uploads import BAD_STATUSES, LAYOUTS, STATUS_SPELLINGS
from subscription_pipeline.normalize import normalize_email, normalize_phone

REPO_ROOT = Path(__file__).resolve().parent.parent
DAY_MS = 86_400_000
START = date(2024, 3, 1)
SMALL = dict(events=20_000, contacts=3_000, days=3, uploads=4, rows=2_000, seed=11)


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateSummary]:
    out = tmp_path_factory.mktemp("landing")
    return out, generate_landing_zone(out, **SMALL)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _log_lines(root: Path) -> list[tuple[Path, int, str]]:
    return [
        (path, number, line)
        for path in sorted((root / "segment-logs").rglob("*.gz"))
        for number, line in enumerate(gzip.decompress(path.read_bytes()).decode().splitlines(), 1)
    ]


def _parsed(root: Path) -> tuple[list[tuple[Path, dict]], int]:
    """Every valid message with its file, and the number of invalid JSON lines."""
    messages, invalid = [], 0
    for path, _, line in _log_lines(root):
        try:
            messages.append((path, json.loads(line)))
        except json.JSONDecodeError:
            invalid += 1
    return messages, invalid


def _iso(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value)


def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    args = dict(SMALL, events=3_000, rows=300)
    generate_landing_zone(tmp_path / "a", **args)
    generate_landing_zone(tmp_path / "b", **args)
    generate_landing_zone(tmp_path / "c", **dict(args, seed=12))
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert first == second
    assert len(first) == 3 * 2 * 2 + 4
    # gzip headers carry no time and no name: mtime field (bytes 4-8) is zero.
    assert all(data[4:8] == b"\0\0\0\0" for name, data in first.items() if name.endswith(".gz"))
    # ...and the seed matters.
    assert _files(tmp_path / "c") != first


def test_layout_is_segment_s3_and_engage_uploads(landing: tuple[Path, GenerateSummary]) -> None:
    out, _ = landing
    start_ms = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp() * 1000)
    sources = sorted(p.name for p in (out / "segment-logs").iterdir())
    assert len(sources) == 2 and all(re.fullmatch(r"[A-Za-z0-9]{10}", s) for s in sources)
    for source in sources:
        days = sorted(int(p.name) for p in (out / "segment-logs" / source).iterdir())
        assert days == [start_ms + d * DAY_MS for d in range(3)]
        for day in days:
            names = sorted(p.name for p in (out / "segment-logs" / source / str(day)).iterdir())
            assert len(names) == 2
            assert all(re.fullmatch(r"\d{13}\.[0-9a-f]{8}\.gz", n) for n in names)
            assert int(names[0].split(".")[0]) == day
    uploads = sorted(p.name for p in (out / "uploads").iterdir())
    assert len(uploads) == 4
    for name in uploads:
        stamp, _, label = name.partition("_")
        moment = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").date()
        assert START <= moment < date(2024, 3, 4) and label.endswith(".csv")


def test_every_message_lies_in_its_received_day_folder(
    landing: tuple[Path, GenerateSummary],
) -> None:
    out, _ = landing
    messages, _ = _parsed(out)
    for path, message in messages:
        received = _iso(message["receivedAt"])
        folder_ms = int(path.parent.name)
        assert folder_ms <= received.timestamp() * 1000 < folder_ms + DAY_MS


def test_counts_match_the_summary(landing: tuple[Path, GenerateSummary]) -> None:
    out, summary = landing
    logs = sorted((out / "segment-logs").rglob("*.gz"))
    assert summary.events == len(_log_lines(out)) == SMALL["events"]
    assert summary.log_files == len(logs) == 12
    assert summary.days == len({p.parent.name for p in logs}) == 3
    rows = 0
    for path in sorted((out / "uploads").iterdir()):
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows += sum(1 for _ in csv.DictReader(f))
    assert summary.uploads == 4 and summary.csv_rows == rows == SMALL["rows"]
    assert summary.out == out


def test_messages_are_valid_segment_json_except_the_intended_defects(
    landing: tuple[Path, GenerateSummary],
) -> None:
    out, _ = landing
    messages, invalid = _parsed(out)
    assert 0 < invalid < 0.005 * SMALL["events"]
    kinds = Counter((m["type"], m.get("event")) for _, m in messages)
    assert {("identify", None), ("page", None), ("track", "Order Completed")} <= set(kinds)
    assert {("track", "SMS Received"), ("track", "WhatsApp Message Received")} <= set(kinds)
    entries = []
    for _, m in messages:
        assert m["messageId"] and (m.get("userId") or m.get("anonymousId"))
        _iso(m["receivedAt"])
        subs = m["context"].get("messaging_subscriptions")
        if m.get("event") in ("SMS Received", "WhatsApp Message Received"):
            assert subs is None and {"from", "body"} <= set(m["properties"])
        entries += subs or []
    types = Counter(e["type"] for e in entries)
    statuses = Counter(e["status"] for e in entries)
    assert {"EMAIL", "SMS", "WHATSAPP", "Email"} <= set(types)  # mixed case too
    unknown = {t for t in types if t.upper() not in ("EMAIL", "SMS", "WHATSAPP")}
    assert unknown and unknown <= set(messages_module.UNKNOWN_TYPES)
    assert {"SUBSCRIBED", "UNSUBSCRIBED", "DID_NOT_SUBSCRIBE", "subscribed"} <= set(statuses)
    bad = {
        s for s in statuses if s.upper() not in ("SUBSCRIBED", "UNSUBSCRIBED", "DID_NOT_SUBSCRIBE")
    }
    assert bad and bad <= set(messages_module.BAD_STATUSES)
    assert sum(types[t] for t in unknown) < 0.01 * len(entries)
    # Groups never on phone entries (an EMAIL entry whose type was garbled keeps its groups).
    assert not any(e["type"].upper() in ("SMS", "WHATSAPP") for e in entries if "groups" in e)
    assert any(e.get("groups") for e in entries)


def test_keys_are_valid_except_the_intended_bad_ones(landing: tuple[Path, GenerateSummary]) -> None:
    out, _ = landing
    messages, _ = _parsed(out)
    entries = [e for _, m in messages for e in m["context"].get("messaging_subscriptions") or []]
    bad_email = bad_phone = 0
    for entry in entries:
        kind = entry["type"].upper()
        if kind == "EMAIL":
            ok = normalize_email(entry["key"])[0] is not None
            bad_email += not ok
            assert ok or entry["key"] in pool.INVALID_EMAILS
        elif kind in ("SMS", "WHATSAPP"):
            ok = normalize_phone(entry["key"])[0] is not None
            bad_phone += not ok
            assert ok or entry["key"] in pool.INVALID_PHONES
    assert 0 < bad_email < 0.02 * len(entries) and 0 < bad_phone < 0.02 * len(entries)


def test_timing_defects_late_future_missing_and_redeliveries(
    landing: tuple[Path, GenerateSummary],
) -> None:
    out, _ = landing
    messages, _ = _parsed(out)
    late = future = missing = 0
    copies: dict[str, list[tuple[Path, dict]]] = {}
    for path, m in messages:
        copies.setdefault(m["messageId"], []).append((path, m))
        if "timestamp" not in m:
            missing += 1
            continue
        lag = (_iso(m["receivedAt"]) - _iso(m["timestamp"])).total_seconds()
        future += lag < -300
        late += _iso(m["timestamp"]).date() < _iso(m["receivedAt"]).date() and lag > 3600
    n = len(messages)
    assert 0.01 * n < late < 0.1 * n
    assert 0 < future < 0.01 * n and 0 < missing < 0.01 * n
    redelivered = [c for c in copies.values() if len(c) > 1]
    assert 0.003 * n < len(redelivered) < 0.02 * n
    for group in redelivered:
        (first_path, first), (second_path, second) = sorted(group, key=lambda c: c[1]["receivedAt"])
        assert second_path != first_path and second_path.parent.parent == first_path.parent.parent
        assert {k: v for k, v in first.items() if k != "receivedAt"} == {
            k: v for k, v in second.items() if k != "receivedAt"
        }
    assert any(a[0].parent != b[0].parent for a, b in redelivered)  # some on the next day


def test_upload_values_and_encodings(landing: tuple[Path, GenerateSummary]) -> None:
    out, _ = landing
    allowed = {s.strip().lower() for s in STATUS_SPELLINGS} | {""}
    seen, bad, bom, crlf = set(), 0, 0, 0
    for path in sorted((out / "uploads").iterdir()):
        raw = path.read_bytes()
        bom += raw.startswith(b"\xef\xbb\xbf")
        crlf += b"\r\n" in raw
        reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
        assert tuple(reader.fieldnames or ()) in LAYOUTS
        for row in reader:
            for column, value in row.items():
                if column.endswith("_subscription_status"):
                    seen.add(value)
                    if value.strip().lower() not in allowed:
                        assert value in BAD_STATUSES
                        bad += 1
    assert bom and crlf
    assert {"true", "FALSE".title(), "did-not-subscribe", " SUBSCRIBED ", ""} <= seen
    assert 0 < bad < 0.02 * SMALL["rows"] * 3


def test_pool_phones_are_valid_us_numbers_in_every_format() -> None:
    idx = np.arange(0, 5_000_000, 4_999, dtype=np.int64)
    canonical = pool.canonical_phones(idx).to_list()
    assert len(set(canonical)) == len(idx)
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in canonical)
    raw = pool.raw_phones(idx, np.random.default_rng(0)).to_list()
    assert len({re.sub(r"\d", "9", r) for r in raw}) >= 6  # many formats
    assert [normalize_phone(r)[0] for r in raw] == canonical
    emails = pool.raw_emails(idx, np.random.default_rng(0)).to_list()
    assert any(e != e.strip() for e in emails) and any(e != e.lower() for e in emails)
    assert [normalize_email(e)[0] for e in emails] == pool.canonical_emails(idx).to_list()


def test_chunked_writing_keeps_counts_and_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiny chunks exercise the multi-chunk path that 5 million events take."""
    monkeypatch.setattr(segment_logs, "CHUNK_LINES", 97)
    summary = generate_landing_zone(
        tmp_path, events=2_001, contacts=100, days=2, uploads=0, rows=0, seed=3, sources=1
    )
    assert summary.events == len(_log_lines(tmp_path)) == 2_001
    assert summary.uploads == summary.csv_rows == 0 and summary.log_files == 4
    for path in (tmp_path / "segment-logs").rglob("*.gz"):
        received = [
            json.loads(line)["receivedAt"]
            for line in gzip.decompress(path.read_bytes()).decode().splitlines()
            if line.endswith("}")
        ]
        assert received == sorted(received)  # a file is in receivedAt order across chunks


def test_fewer_events_than_files_writes_only_non_empty_files(tmp_path: Path) -> None:
    summary = generate_landing_zone(
        tmp_path, events=5, contacts=10, days=3, uploads=1, rows=0, seed=5, files_per_day=2
    )
    assert summary.events == len(_log_lines(tmp_path)) == 5
    assert summary.log_files == len(list(tmp_path.rglob("*.gz"))) == 5
    # Events fill the earliest slots first: both sources' files of day 0, then day 1.
    assert summary.days == len({p.parent.name for p in tmp_path.rglob("*.gz")}) == 2
    assert summary.csv_rows == 0
    [upload] = (tmp_path / "uploads").iterdir()
    assert len(upload.read_text(encoding="utf-8-sig").splitlines()) == 1  # header only


def test_rejects_impossible_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_landing_zone(tmp_path, events=10, contacts=0, days=1, uploads=0, rows=0, seed=1)


# The committed sample.
SAMPLE = REPO_ROOT / "data"


def test_committed_sample_is_what_the_script_writes(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    try:
        from make_sample_data import make_sample
    finally:
        sys.path.remove(str(REPO_ROOT / "scripts"))
    make_sample(tmp_path)
    for folder in ("uploads", "segment-logs"):
        assert _files(tmp_path / folder) == _files(SAMPLE / folder), folder
    total = sum(len(b) for f in ("uploads", "segment-logs") for b in _files(SAMPLE / f).values())
    assert total < 1_000_000
    assert 4 <= len(list((SAMPLE / "uploads").iterdir())) <= 6


def test_sample_defects_are_the_intended_ones() -> None:
    truncated = list((SAMPLE / "segment-logs").rglob("*.truncated.gz"))
    assert len(truncated) == 1
    with pytest.raises((EOFError, zlib.error)):
        gzip.decompress(truncated[0].read_bytes())
    stories = {}
    invalid = 0
    for path in sorted((SAMPLE / "segment-logs").rglob("*.stories.gz")):
        for line in gzip.decompress(path.read_bytes()).decode().splitlines():
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                invalid += 1
                continue
            stories.setdefault(message["messageId"], []).append((path.parent.name, message))
    assert invalid == 1
    # One message re-delivered in the next day's folder.
    [(first, second)] = [c for c in stories.values() if len(c) > 1]
    assert int(second[0]) - int(first[0]) == DAY_MS
    # The late one: received two days after its timestamp, in the later day folder.
    late = [
        m
        for c in stories.values()
        for _, m in c
        if "timestamp" in m and (_iso(m["receivedAt"]) - _iso(m["timestamp"])).days >= 1
    ]
    assert [m["userId"] for m in late] == ["usr_liam"]


def test_story_contacts_are_documented_and_present() -> None:
    readme = (SAMPLE / "README.md").read_text()
    texts = []
    for path in (SAMPLE / "segment-logs").rglob("*.stories.gz"):
        texts.append(gzip.decompress(path.read_bytes()).decode())
    texts += [p.read_text(encoding="utf-8-sig") for p in (SAMPLE / "uploads").iterdir()]
    normalised = set()
    for text in texts:
        for token in re.findall(r"[^\",\n]+", text):
            email, _ = normalize_email(token) if "@" in token else (None, None)
            phone, _ = (
                normalize_phone(token) if re.search(r"\d{3}.?\d{4}$", token) else (None, None)
            )
            normalised |= {v for v in (email, phone) if v}
    for scenario in SCENARIOS:
        for contact in scenario.contacts:
            assert f"`{contact}`" in readme, contact
            assert contact in normalised, contact
