"""Who sent a request: the one place the evidence of an API write is gathered.

The guard builds a `RequestContext` for every HTTP request before anything else runs and puts
it in the ASGI scope's state; routes read it with `context_of(request)` and hand it to the
service, which records the request under `request_id`. Proof of consent (client name, request
id, remote address of the writer) is taken from here, never from the logs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import Scope

STATE_KEY = "request_context"


@dataclass(frozen=True)
class RequestContext:
    request_id: str  # also the inbox's request id (the observations' `source`) for a PUT
    remote_addr: str | None  # the peer's address as the server saw it (no proxy headers)
    client: str | None = None  # the name configured with the bearer token; None before auth


def new_context(scope: Scope) -> RequestContext:
    peer = scope.get("client")
    return RequestContext(
        request_id=f"req_{uuid.uuid4().hex}", remote_addr=peer[0] if peer else None
    )


def attach(scope: Scope, context: RequestContext) -> None:
    scope.setdefault("state", {})[STATE_KEY] = context


def context_of(request: Request) -> RequestContext:
    context = request.scope.get("state", {}).get(STATE_KEY)
    if context is None:  # only an app run without the guard (never in `serve`)
        context = new_context(request.scope)
    return context
