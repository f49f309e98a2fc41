"""ASGI middleware run before any body parsing: bearer-token auth (401), body size limit (413).

Pure ASGI rather than a FastAPI dependency, so an unauthenticated client never gets as far as a
422 about its body, and an oversized body is refused before it is buffered whole.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def token_digests(tokens: Iterable[str]) -> tuple[bytes, ...]:
    return tuple(hashlib.sha256(token.encode()).digest() for token in tokens if token)


def token_valid(presented: str, digests: tuple[bytes, ...]) -> bool:
    """Constant time: equal-length digests, every known token compared, no early exit."""
    candidate = hashlib.sha256(presented.encode()).digest()
    matched = False
    for known in digests:
        matched |= hmac.compare_digest(candidate, known)
    return matched


class Guard:
    def __init__(self, app: ASGIApp, tokens: Iterable[str], max_body_bytes: int) -> None:
        self.app = app
        self.digests = token_digests(tokens)
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope["headers"]}
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token_valid(token.strip(), self.digests):
            await _reply(
                send,
                401,
                "UNAUTHORIZED",
                "a valid bearer token is required",
                [(b"www-authenticate", b"Bearer")],
            )
            return
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await _reply(send, 413, "REQUEST_TOO_LARGE", self._limit_message())
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
                await _reply(send, 413, "REQUEST_TOO_LARGE", self._limit_message())
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            # Server-Timing: the service's own time, apart from the client's and the network's.
            if message["type"] == "http.response.start":
                took = f"app;dur={(time.perf_counter() - started) * 1000:.2f}".encode()
                message = {**message, "headers": [*message["headers"], (b"server-timing", took)]}
            await send(message)

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, timed_send)

    def _limit_message(self) -> str:
        return f"the request body exceeds {self.max_body_bytes} bytes"


async def _reply(
    send: Send, status: int, code: str, message: str, extra: list | None = None
) -> None:
    body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})
