"""Request bodies of Segment's messaging-subscriptions endpoints, loosely typed on purpose.

Every field is `Any`: the entries are judged one by one by `validate.py`, so that a bad entry
gets an ingestion error code (INVALID_EMAIL, ...) instead of a generic schema error.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: Any = None
    type: Any = None
    status: Any = None
    groups: Any = None


class PutSubscriptionsBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subscriptions: list[SubscriptionIn]


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: Any = None
    type: Any = None


class BatchLookupBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subscriptions: list[LookupIn]
