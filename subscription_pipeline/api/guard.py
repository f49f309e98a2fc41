"""ASGI middleware run before any body parsing: the request's context, bearer-token auth (401),
body size limit (413), and one log line per reply.

Pure ASGI rather than a FastAPI dependency, so an unauthenticated client never gets as far as a
422 about its body, and an oversized body is refused before it is buffered whole.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from subscription_pipeline.api.context import STATE_KEY, RequestContext, attach, new_context
from subscription_pipeline.api.envelope import ApiError, envelope_bytes
from subscription_pipeline.api.tokens import TokenTable

log = logging.getLogger("subscription_pipeline.api")


class Guard:
    def __init__(self, app: ASGIApp, tokens: TokenTable, max_body_bytes: int) -> None:
        self.app = app
        self.tokens = tokens
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        context = new_context(scope)
        status = 500

        async def logged_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Server-Timing: the service's own time, apart from the client's and the network's.
                took = f"app;dur={(time.perf_counter() - started) * 1000:.2f}".encode()
                extra = [(b"server-timing", took), (b"x-request-id", context.request_id.encode())]
                message = {**message, "headers": [*message["headers"], *extra]}
            await send(message)

        try:
            await self._guarded(scope, receive, logged_send, context)
        finally:
            context = scope.get("state", {}).get(STATE_KEY, context)  # with its client, if any
            # Every reply, 409 and 401 included: method, path (space id), status, request id,
            # client name. Never a body, a contact or a token.
            log.info(
                "%s %s -> %d %s client=%s %.1f ms",
                scope["method"],
                scope["path"],
                status,
                context.request_id,
                context.client or "-",
                (time.perf_counter() - started) * 1000,
            )

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, context: RequestContext
    ) -> None:
        headers = {name.lower(): value for name, value in scope["headers"]}
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        client = self.tokens.client_of(token.strip()) if scheme.lower() == "bearer" else None
        if client is None:
            attach(scope, context)
            message = "a valid bearer token is required"
            await _reply(
                send, ApiError(401, "UNAUTHORIZED", message), [(b"www-authenticate", b"Bearer")]
            )
            return
        context = replace(context, client=client)
        attach(scope, context)
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await _reply(send, self._too_large())
            return
        # Read the body up to the limit (a chunked upload has no Content-Length), then replay it.
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body_bytes:
                await _reply(send, self._too_large())
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> ApiError:
        message = f"the request body exceeds {self.max_body_bytes} bytes"
        return ApiError(413, "REQUEST_TOO_LARGE", message)


async def _reply(send: Send, error: ApiError, extra: list | None = None) -> None:
    body = envelope_bytes([error])
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": error.status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})
