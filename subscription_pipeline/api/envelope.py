"""Segment's error envelope, for every refused request (SPEC 2.3).

`{"errors": [{"type", "message", "field", "status", "data"}]}`, as the SDK's `RequestError`
reads it: `type` is the kind of error (Segment's own example is `input-validation`), `status`
the HTTP status, and `data` carries our code (`data.code`, e.g. `INVALID_EMAIL`) and, for an
entry, its position in the request (`data.index`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse

# HTTP status -> the envelope's `type`.
ERROR_TYPES = {
    401: "unauthorized",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    422: "input-validation",
    500: "server",
}


@dataclass(frozen=True)
class ApiError:
    status: int
    code: str
    message: str
    field: str | None = None
    index: int | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code}
        if self.index is not None:
            data["index"] = self.index
        error: dict[str, Any] = {
            "type": ERROR_TYPES.get(self.status, "unknown"),
            "message": self.message,
            "status": self.status,
            "data": data,
        }
        if self.field is not None:
            error["field"] = self.field
        return error


def envelope_bytes(errors: list[ApiError]) -> bytes:
    return json.dumps({"errors": [error.as_json() for error in errors]}).encode()


def error_response(errors: list[ApiError], headers: dict[str, str] | None = None) -> JSONResponse:
    """All errors of one response share its status (the first one's)."""
    return JSONResponse(
        status_code=errors[0].status,
        content={"errors": [error.as_json() for error in errors]},
        headers=headers,
    )
