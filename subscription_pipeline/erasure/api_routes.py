"""`POST /erasures`: the API form of `forget` (authenticated by the service's bearer tokens).

Body `{"erasures": [{"key": "...", "reason": "..."}]}`. Each valid key is recorded in the
registry at once (the service refuses its PUTs and lookups from that moment) and queued for the
purge the next run applies first; the answer is `202` with each entry's hash, never the key.
An invalid key records nothing of the request and answers `422` naming the entry, in the
service's error envelope.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from subscription_pipeline.api.context import context_of
from subscription_pipeline.api.envelope import ApiError, error_response
from subscription_pipeline.erasure import registry
from subscription_pipeline.erasure.command import ErasureRequest, parse_request
from subscription_pipeline.erasure.keyed_hash import ErasureSecretMissing, contact_hash, load_secret


class ErasureIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: Any = None
    reason: Any = None


class ErasuresBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    erasures: list[ErasureIn]


def client_of(request: Request) -> str:
    """The calling client's name as the guard set it (`name:token`), never the token."""
    return context_of(request).client or "unnamed"


def add_erasure_route(app: FastAPI, data_dir: Path, region: str) -> None:
    @app.post("/erasures")
    def post_erasures(body: ErasuresBody, request: Request) -> JSONResponse:
        try:
            secret = load_secret()
        except ErasureSecretMissing as exc:
            return error_response([ApiError(503, "NO_SECRET", str(exc))])
        parsed: list[ErasureRequest] = []
        errors = []
        for index, item in enumerate(body.erasures):
            reason = item.reason if isinstance(item.reason, str) else None
            result = parse_request(item.key if isinstance(item.key, str) else "", reason, region)
            if isinstance(result, str):
                field = f"erasures[{index}].key"
                errors.append(ApiError(422, "INVALID_KEY", result, field, index))
            else:
                parsed.append(result)
        if errors:
            return error_response(errors)
        answers = []
        with registry.open_registry(data_dir) as reg:
            registry.check_secret(reg, secret)
            for index, erasure in enumerate(parsed):
                digest = contact_hash(erasure.contact, secret)
                registry.record_forget(
                    reg, erasure.contact, digest, f"api:{client_of(request)}", erasure.reason
                )
                answers.append({"index": index, "contact_hash": digest, "status": "queued"})
        return JSONResponse(status_code=202, content={"data": {"erasures": answers}})
