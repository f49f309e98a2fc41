"""Properties of the API's answers over generated requests: whatever mix of valid, invalid,
blocked and unsupported entries a PUT holds, the answer loads into Segment's models, names
every entry exactly once, and the inbox holds exactly the entries answered as recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from tests.test_api_service import inbox_rows, put, running_service, settings_for

STATUSES = ["SUBSCRIBED", "UNSUBSCRIBED", "DID_NOT_SUBSCRIBE", "subscribed"]
KEYS = {
    "EMAIL": ["a@example.com", " B@Example.com ", "not-an-email", "c@example"],
    "SMS": ["+14155552671", "(415) 555-2672", "12"],
    "WHATSAPP": ["+14155552673", "x"],
    "IOS_PUSH": ["device-1"],
    "ANDROID_PUSH": ["device-2"],
}


@st.composite
def entries(draw: st.DrawFn) -> dict:
    kind = draw(st.sampled_from(sorted(KEYS)))
    entry: dict = {"key": draw(st.sampled_from(KEYS[kind])), "type": kind}
    if draw(st.booleans()):
        entry["status"] = draw(st.sampled_from(STATUSES))
    if draw(st.booleans()):
        names = st.sampled_from(["news", "offers", " "])
        groups = st.fixed_dictionaries({"name": names, "status": st.sampled_from(STATUSES)})
        entry["groups"] = draw(st.lists(groups, max_size=2, unique_by=lambda g: g["name"]))
    return entry


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Path]]:
    data_dir = tmp_path_factory.mktemp("data")
    with running_service(settings_for(data_dir)) as client:
        yield client, data_dir


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(entries(), max_size=6))
def test_every_entry_is_answered_once_and_recorded_iff_answered_so(
    service: tuple[httpx.Client, Path], batch: list[dict]
) -> None:
    client, data_dir = service
    response = put(client, *batch)  # the client's hook validates it against Segment's models
    assert response.status_code == 200
    data = response.json()["data"]
    items = data["successes"] + data["failures"]
    assert sorted(item["index"] for item in items) == list(range(len(batch)))
    for item in items:
        assert item["key"] == batch[item["index"]]["key"]  # echoed as sent
    recorded = {item["index"] for item in items if item.get("outcome") != "rejected"}
    request_id = response.headers["x-request-id"]
    stored = inbox_rows(
        data_dir, "SELECT DISTINCT item_index FROM entries WHERE request_id = ?", (request_id,)
    )
    assert {index for (index,) in stored} == recorded
    # Successes are exactly the recorded entries with no blocked step.
    for item in data["successes"]:
        assert item["errors"] == [] and item.get("outcome") != "blocked"
    for item in data["failures"]:
        assert item["errors"]
