"""The response shapes of Segment's Public API for messaging subscriptions, as its generated
Python SDK (segmentio/public-api-sdk-python, `segment_public_api/models/`) reads them: required
fields, strict string types and the enum spellings, written out here so that every answer of
the API tests is checked against them. Unknown fields are ignored, as the SDK ignores them.

`check_answer(response)` validates an httpx response by its request and status; the tests'
clients call it on every response (an event hook).
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

SegmentType = Literal["ANDROID_PUSH", "EMAIL", "IOS_PUSH", "SMS", "WHATSAPP"]
SegmentStatus = Literal["DID_NOT_SUBSCRIBE", "SUBSCRIBED", "UNSUBSCRIBED"]


class Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# Requests (to check that the SDK documentation's examples are valid input).
class GroupIn(Shape):
    name: StrictStr
    status: SegmentStatus


class SubscriptionIn(Shape):
    key: StrictStr
    type: SegmentType
    status: SegmentStatus | None = None
    groups: list[GroupIn] | None = None


class ReplaceInput(Shape):
    subscriptions: list[SubscriptionIn]


class LookupIn(Shape):
    key: StrictStr
    type: SegmentType


class BatchInput(Shape):
    subscriptions: list[LookupIn]


# PUT /spaces/{spaceId}/messaging-subscriptions
class ItemError(Shape):
    code: StrictStr
    message: StrictStr


class UpdatedGroup(Shape):
    name: StrictStr
    status: SegmentStatus
    id: StrictStr


class UpdatedSubscription(Shape):
    key: StrictStr
    type: SegmentType
    status: SegmentStatus | None = None
    errors: list[ItemError] | None = None
    groups: list[UpdatedGroup] | None = None


class ReplaceOutput(Shape):
    successes: list[UpdatedSubscription]
    failures: list[UpdatedSubscription]


class ReplaceAnswer(Shape):
    data: ReplaceOutput  # optional for the SDK; a 200 of ours always carries it


# POST /spaces/{spaceId}/messaging-subscriptions/batch
class GroupState(Shape):
    name: StrictStr
    status: SegmentStatus
    id: StrictStr
    updated_at: StrictStr | None = Field(default=None, alias="updatedAt")


class FoundSubscription(Shape):
    key: StrictStr
    type: SegmentType
    status: SegmentStatus | None = None  # absent when the contact is not found
    groups: list[GroupState] | None = None
    updated_at: StrictStr | None = Field(default=None, alias="updatedAt")


class LookupFailure(Shape):
    key: StrictStr
    type: StrictStr  # the type exactly as sent, so no enum here
    errors: list[ItemError]


class BatchOutput(Shape):
    successes: list[FoundSubscription]
    failures: list[LookupFailure]
    errors: list[ItemError]


class BatchAnswer(Shape):
    data: BatchOutput


# Every error status.
class RequestError(Shape):
    type: StrictStr
    message: StrictStr | None = None
    field: StrictStr | None = None
    data: Any = None
    status: StrictInt | StrictFloat | None = None


class ErrorEnvelope(Shape):
    errors: list[RequestError]


class QueuedErasure(Shape):
    index: StrictInt
    contact_hash: StrictStr
    status: Literal["queued"]


class ErasureData(Shape):
    erasures: list[QueuedErasure]


class ErasureAnswer(Shape):
    data: ErasureData


def check_answer(response: httpx.Response) -> BaseModel:
    """The response parsed by the model the SDK would use; raises if it does not validate."""
    response.read()
    body = response.json()
    if response.status_code == 202 and response.request.url.path == "/erasures":
        return ErasureAnswer.model_validate(body)  # ours, not Segment's: only its errors are
    if response.status_code == 200:
        if response.request.method == "PUT":
            return ReplaceAnswer.model_validate(body)
        return BatchAnswer.model_validate(body)
    envelope = ErrorEnvelope.model_validate(body)
    assert "data" not in body  # "Responses will never contain both data and error keys."
    assert envelope.errors, "an error envelope names at least one error"
    assert {error.status for error in envelope.errors} == {response.status_code}
    return envelope
