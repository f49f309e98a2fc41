"""`generate --subscription-share`: realistic analytics.js bodies and the share of traffic that
can change a subscription."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from subscription_pipeline.cli import main
from subscription_pipeline.generate import generate_landing_zone
from subscription_pipeline.generate.segment_messages import KIND_WEIGHTS, kind_weights

SMALL = dict(events=6_000, contacts=800, days=2, uploads=0, rows=0, seed=5)


def _messages(root: Path) -> tuple[list[dict], int]:
    messages, broken = [], 0
    for path in sorted((root / "segment-logs").rglob("*.gz")):
        for line in gzip.decompress(path.read_bytes()).decode().splitlines():
            try:
                messages.append(json.loads(line))
            except json.JSONDecodeError:
                broken += 1
    return messages, broken


def _can_matter(message: dict) -> bool:
    return "messaging_subscriptions" in message.get("context", {}) or message.get("event") in (
        "SMS Received",
        "WhatsApp Message Received",
    )


def test_a_realistic_mix_has_its_share_and_full_bodies(tmp_path: Path) -> None:
    generate_landing_zone(tmp_path, **SMALL, subscription_share=0.03)

    messages, broken = _messages(tmp_path)

    share = sum(map(_can_matter, messages)) / len(messages)
    assert 0.02 < share < 0.04
    assert broken < len(messages) * 0.005
    ordinary = [m for m in messages if m["type"] == "page"]
    sizes = [len(json.dumps(m, separators=(",", ":"))) for m in ordinary]
    assert 800 < sum(sizes) / len(sizes) < 1000
    page = ordinary[0]
    assert {"ip", "userAgent", "page", "library", "locale", "timezone"} <= set(page["context"])
    assert page["properties"]["url"].startswith("https://")
    identify = next(m for m in messages if m["type"] == "identify")
    assert {"email", "phone"} <= set(identify["traits"])


def test_every_message_can_matter_at_a_share_of_100(tmp_path: Path) -> None:
    assert main(
        ["generate", *("--events", "2000", "--contacts", "300", "--days", "1"),
         *("--uploads", "0", "--rows", "0", "--subscription-share", "100"),
         "--out", str(tmp_path)]
    ) == 0  # fmt: skip

    messages, _ = _messages(tmp_path)

    assert all(map(_can_matter, messages))


def test_the_share_is_a_fraction() -> None:
    assert kind_weights(None) == KIND_WEIGHTS
    assert sum(kind_weights(0.5)[:4]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="fraction"):
        kind_weights(1.5)
