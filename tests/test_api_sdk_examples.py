"""The examples of Segment's SDK documentation (docs/SpacesApi.md of segment-public-api), sent
as they are to the service, and the test models checked against shapes they must refuse."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from subscription_pipeline.api.app import ApiSettings
from subscription_pipeline.api.shapes import group_id
from subscription_pipeline.api.spaces import SAMPLE_SPACE_ID
from tests.segment_models import (
    BatchAnswer,
    BatchInput,
    ErrorEnvelope,
    ReplaceAnswer,
    ReplaceInput,
)
from tests.test_api_service import TOKEN, inbox_rows, running_service

# Verbatim from the documentation's examples (its space id is the service's default space).
DOC_PUT = {
    "subscriptions": [
        {"key": "jacob@exmple.com", "type": "EMAIL", "status": "SUBSCRIBED"},
        {
            "key": "jane@exmple.com",
            "type": "EMAIL",
            "status": "SUBSCRIBED",
            "groups": [{"name": "promotions", "status": "SUBSCRIBED"}],
        },
        {"key": "pgibbonsexample.com", "type": "EMAIL", "status": "UNSUBSCRIBED"},
        {"key": "+12162226233", "type": "SMS", "status": "DID_NOT_SUBSCRIBE"},
    ]
}
DOC_BATCH = {
    "subscriptions": [
        {"key": "jacob@exmple.com", "type": "EMAIL"},
        {"key": "jane@exmple.com", "type": "EMAIL"},
        {"key": "pgibbonsexample.com", "type": "EMAIL"},
        {"key": "+12162226233", "type": "SMS"},
    ]
}
BASE = f"/spaces/{SAMPLE_SPACE_ID}/messaging-subscriptions"


def test_the_documented_examples_are_answered_in_the_sdk_shapes(tmp_path: Path) -> None:
    ReplaceInput.model_validate(DOC_PUT)
    BatchInput.model_validate(DOC_BATCH)
    data_dir = tmp_path / "data"
    # Default spaces: the sample space of the documentation.
    with running_service(ApiSettings(data_dir=data_dir, tokens={TOKEN: "docs"})) as client:
        before = client.post(BASE + "/batch", json=DOC_BATCH)
        updated = client.put(BASE, json=DOC_PUT)
        after = client.post(BASE + "/batch", json=DOC_BATCH)
    # Before any write the valid contacts are successes without a status (not found).
    unknown = BatchAnswer.model_validate(before.json()).data
    assert [(s.key, s.status) for s in unknown.successes] == [
        ("jacob@exmple.com", None),
        ("jane@exmple.com", None),
        ("+12162226233", None),
    ]
    # The invalid email fails alone; the three others are recorded (partial success).
    put = ReplaceAnswer.model_validate(updated.json()).data
    assert [(s.key, s.status) for s in put.successes] == [
        ("jacob@exmple.com", "SUBSCRIBED"),
        ("jane@exmple.com", "SUBSCRIBED"),
        ("+12162226233", "DID_NOT_SUBSCRIBE"),
    ]
    [failure] = put.failures
    assert failure.key == "pgibbonsexample.com" and failure.errors is not None
    assert [e.code for e in failure.errors] == ["INVALID_EMAIL"]
    assert [(g.id, g.name) for g in put.successes[1].groups or []] == [
        (group_id("promotions"), "promotions")
    ]
    assert inbox_rows(data_dir, "SELECT count(*) FROM entries") == [(4,)]
    state = BatchAnswer.model_validate(after.json()).data
    assert [(s.key, s.status) for s in state.successes] == [
        ("jacob@exmple.com", "SUBSCRIBED"),
        ("jane@exmple.com", "SUBSCRIBED"),
        ("+12162226233", "DID_NOT_SUBSCRIBE"),
    ]
    assert [f.key for f in state.failures] == ["pgibbonsexample.com"] and state.errors == []


def test_segments_documented_error_envelope_validates() -> None:
    # The example of Segment's "Error Handling" page.
    ErrorEnvelope.model_validate(
        {"errors": [{"type": "input-validation", "message": '"id" is required', "field": "id"}]}
    )


@pytest.mark.parametrize(
    ("model", "body"),
    [
        # The service's former answer: data.subscriptions, no successes/failures.
        (ReplaceAnswer, {"data": {"subscriptions": []}}),
        # A group without an id.
        (
            ReplaceAnswer,
            {
                "data": {
                    "successes": [
                        {
                            "key": "a@example.com",
                            "type": "EMAIL",
                            "groups": [{"name": "n", "status": "SUBSCRIBED"}],
                        }
                    ],
                    "failures": [],
                }
            },
        ),
        # A status outside the enum spelling.
        (
            ReplaceAnswer,
            {
                "data": {
                    "successes": [
                        {"key": "a@example.com", "type": "EMAIL", "status": "subscribed"}
                    ],
                    "failures": [],
                }
            },
        ),
        # Batch without `errors`, and a flat failure.
        (BatchAnswer, {"data": {"successes": [], "failures": []}}),
        (
            BatchAnswer,
            {
                "data": {
                    "successes": [],
                    "failures": [{"index": 0, "code": "NOT_FOUND", "message": "x"}],
                    "errors": [],
                }
            },
        ),
        # Our former error body: no `type`.
        (ErrorEnvelope, {"errors": [{"code": "UNAUTHORIZED", "message": "x"}]}),
    ],
)
def test_the_models_refuse_the_shapes_the_sdk_refuses(model: type, body: dict) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(body)
