"""The HTTP service: Segment's messaging-subscriptions endpoints over the inbox and snapshot.

Bodies are read by hand rather than by a FastAPI model, so that the checks come in Segment's
order (token, then space, then body) and every refusal is Segment's error envelope.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from subscription_pipeline.api.context import context_of
from subscription_pipeline.api.envelope import ApiError, error_response
from subscription_pipeline.api.guard import Guard
from subscription_pipeline.api.service import IdempotencyKeyReused, SubscriptionService
from subscription_pipeline.api.shapes import lookup_item, rejected_item
from subscription_pipeline.api.spaces import SAMPLE_SPACE_ID, check_inbox_spaces
from subscription_pipeline.api.tokens import TokenTable
from subscription_pipeline.api.validate import Rejected, judge_entry, judge_lookup
from subscription_pipeline.erasure.api_routes import add_erasure_route
from subscription_pipeline.normalize import DEFAULT_REGION

log = logging.getLogger("subscription_pipeline.api")
PREFIX = "/spaces/{space_id}/messaging-subscriptions"


@dataclass(frozen=True)
class ApiSettings:
    data_dir: Path
    tokens: Mapping[str, str]  # token -> client name (see tokens.py)
    spaces: frozenset[str] = field(default_factory=lambda: frozenset({SAMPLE_SPACE_ID}))
    default_region: str = DEFAULT_REGION
    max_body_bytes: int = 1024 * 1024
    max_entries: int = 1000


class Refused(Exception):
    def __init__(self, errors: list[ApiError]) -> None:
        self.errors = errors


async def read_subscriptions(request: Request, limit: int) -> tuple[Any, list]:
    """(the parsed body, its `subscriptions` list), or Refused (422, 413)."""
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused([ApiError(422, "INVALID_JSON", f"the body is not JSON: {exc}")]) from None
    items = body.get("subscriptions") if isinstance(body, dict) else None
    if not isinstance(items, list):
        message = "the body must be an object with a list `subscriptions`"
        raise Refused([ApiError(422, "INVALID_REQUEST", message, "subscriptions")])
    if len(items) > limit:
        message = f"{len(items)} subscriptions in one request; the limit is {limit}"
        raise Refused([ApiError(413, "TOO_MANY_ENTRIES", message, "subscriptions")])
    return body, items


def create_app(settings: ApiSettings) -> FastAPI:
    check_inbox_spaces(settings.data_dir, settings.spaces)
    service = SubscriptionService(settings.data_dir)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()  # the writer finishes the requests it holds, then stops

    app = FastAPI(title="subscription-pipeline", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.add_middleware(
        Guard, tokens=TokenTable(settings.tokens), max_body_bytes=settings.max_body_bytes
    )
    app.state.service = service

    @app.exception_handler(Refused)
    async def refused(_: Request, exc: Refused) -> JSONResponse:
        return error_response(exc.errors)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        # Unknown paths and methods, in the envelope too.
        code = "NOT_FOUND" if exc.status_code == 404 else "HTTP_ERROR"
        return error_response([ApiError(exc.status_code, code, str(exc.detail))])

    @app.exception_handler(Exception)
    async def server_error(_: Request, exc: Exception) -> JSONResponse:
        # Logged with its traceback (no request body in it); the client gets the envelope.
        log.error("internal error", exc_info=exc)
        message = "the service could not handle the request; nothing was confirmed"
        return error_response([ApiError(500, "INTERNAL_ERROR", message)])

    def check_space(space_id: str) -> None:
        if space_id not in settings.spaces:
            raise Refused([ApiError(404, "SPACE_NOT_FOUND", f"no space {space_id!r} here")])

    @app.put(PREFIX)
    async def put_subscriptions(space_id: str, request: Request) -> Response:
        check_space(space_id)
        body, items = await read_subscriptions(request, settings.max_entries)
        judged = [judge_entry(i, item, settings.default_region) for i, item in enumerate(items)]
        errors = [error for result in judged if isinstance(result, list) for error in result]
        if errors:
            bad = len({error.index for error in errors})
            log.info("refused a request: %d of %d entries malformed", bad, len(judged))
            raise Refused(errors)
        canonical = json.dumps(body, sort_keys=True)
        digest = hashlib.sha256(f"{space_id}\n{canonical}".encode()).hexdigest()
        try:
            answer = await service.put(
                context_of(request),
                space_id,
                judged,  # type: ignore[arg-type]  # no shape errors left
                digest,
                request.headers.get("idempotency-key"),
            )
        except IdempotencyKeyReused:
            log.info("refused a request: Idempotency-Key reused with another body (409)")
            message = "this Idempotency-Key was used for another body"
            raise Refused([ApiError(409, "IDEMPOTENCY_KEY_REUSED", message)]) from None
        return Response(content=answer, media_type="application/json")

    @app.post(PREFIX + "/batch")
    async def batch_lookup(space_id: str, request: Request) -> JSONResponse:
        check_space(space_id)
        _, items = await read_subscriptions(request, settings.max_entries)
        judged = [judge_lookup(i, item, settings.default_region) for i, item in enumerate(items)]
        errors = [error for result in judged if isinstance(result, list) for error in result]
        if errors:
            raise Refused(errors)
        vectors = [vector for vector in judged if isinstance(vector, tuple)]
        states = service.current(vectors)
        successes, failures = [], []
        for index, (item, result) in enumerate(zip(items, judged, strict=True)):
            if isinstance(result, Rejected):
                failures.append(rejected_item(result))
            else:
                channel, contact = result  # type: ignore[misc]
                found = states.get((channel, contact))
                successes.append(lookup_item(index, item["key"], channel, contact, found))
        known = sum(1 for item in successes if "status" in item)
        log.info("looked up %d contacts: %d with a state", len(judged), known)
        data = {"successes": successes, "failures": failures, "errors": []}
        return JSONResponse(content={"data": data})

    add_erasure_route(app, settings.data_dir, settings.default_region)
    return app
