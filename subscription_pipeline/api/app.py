"""The HTTP service: Segment's messaging-subscriptions endpoints over the inbox and snapshot."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from subscription_pipeline.api.answer import state_json
from subscription_pipeline.api.guard import Guard
from subscription_pipeline.api.models import BatchLookupBody, PutSubscriptionsBody
from subscription_pipeline.api.service import IdempotencyKeyReused, SubscriptionService
from subscription_pipeline.api.validate import Entry, EntryError, judge_entry, judge_key
from subscription_pipeline.erasure.api_routes import add_erasure_route, request_evidence
from subscription_pipeline.normalize import DEFAULT_REGION

log = logging.getLogger("subscription_pipeline.api")
PREFIX = "/spaces/{space_id}/messaging-subscriptions"


@dataclass(frozen=True)
class ApiSettings:
    data_dir: Path
    tokens: frozenset[str]
    default_region: str = DEFAULT_REGION
    max_body_bytes: int = 1024 * 1024
    max_entries: int = 1000


def _errors_response(errors: Iterable[EntryError]) -> JSONResponse:
    return JSONResponse(status_code=422, content={"errors": [e.as_json() for e in errors]})


def _too_many(count: int, limit: int) -> JSONResponse:
    message = f"{count} subscriptions in one request; the limit is {limit}"
    return JSONResponse(
        status_code=413, content={"errors": [{"code": "TOO_MANY_ENTRIES", "message": message}]}
    )


def create_app(settings: ApiSettings) -> FastAPI:
    service = SubscriptionService(settings.data_dir)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()  # the writer finishes the requests it holds, then stops

    app = FastAPI(title="subscription-pipeline", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.add_middleware(Guard, tokens=settings.tokens, max_body_bytes=settings.max_body_bytes)
    app.state.service = service

    @app.exception_handler(RequestValidationError)
    async def malformed(_: Request, exc: RequestValidationError) -> JSONResponse:
        # The shape, not the values: FastAPI's default would echo the body (contacts) back.
        errors = [
            {
                "index": None,
                "field": ".".join(str(part) for part in error.get("loc", ())),
                "code": "INVALID_REQUEST",
                "message": error.get("msg", "invalid"),
            }
            for error in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"errors": errors})

    @app.put(PREFIX)
    async def put_subscriptions(
        space_id: str,
        body: PutSubscriptionsBody,
        request: Request,
        idempotency_key: str | None = Header(default=None),
    ) -> Response:
        if len(body.subscriptions) > settings.max_entries:
            return _too_many(len(body.subscriptions), settings.max_entries)
        judged = [
            judge_entry(index, item, settings.default_region)
            for index, item in enumerate(body.subscriptions)
        ]
        errors = [error for result in judged if isinstance(result, list) for error in result]
        if errors:
            log.info(
                "rejected a request: %d of %d entries invalid",
                len({e.index for e in errors}),
                len(judged),
            )
            return _errors_response(errors)
        entries = [result for result in judged if isinstance(result, Entry)]
        canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True)
        digest = hashlib.sha256(f"{space_id}\n{canonical}".encode()).hexdigest()
        try:
            answer = await service.put(
                space_id, entries, digest, idempotency_key, request_evidence(request)
            )
        except IdempotencyKeyReused:
            return JSONResponse(
                status_code=409,
                content={
                    "errors": [
                        {
                            "code": "IDEMPOTENCY_KEY_REUSED",
                            "message": "this Idempotency-Key was used for another body",
                        }
                    ]
                },
            )
        return Response(content=answer, media_type="application/json")

    @app.post(PREFIX + "/batch")
    def batch_lookup(space_id: str, body: BatchLookupBody) -> JSONResponse:
        if len(body.subscriptions) > settings.max_entries:
            return _too_many(len(body.subscriptions), settings.max_entries)
        judged = [
            judge_key(index, item.key, item.type, settings.default_region)
            for index, item in enumerate(body.subscriptions)
        ]
        vectors = [vector for vector in judged if isinstance(vector, tuple)]
        states = service.current(vectors)
        successes, failures = [], []
        for index, (item, vector) in enumerate(zip(body.subscriptions, judged, strict=True)):
            if isinstance(vector, EntryError):
                failures.append({**vector.as_json(), "key": item.key, "type": item.type})
            elif vector not in states:
                failures.append(
                    {
                        "index": index,
                        "key": vector[1],
                        "type": vector[0].upper(),
                        "code": "NOT_FOUND",
                        "message": "no subscription state for this contact",
                    }
                )
            else:
                successes.append(state_json(vector[0], vector[1], states[vector]))
        log.info("looked up %d contacts: %d found", len(judged), len(successes))
        return JSONResponse(content={"data": {"successes": successes, "failures": failures}})

    add_erasure_route(app, settings.data_dir, settings.default_region)
    return app
