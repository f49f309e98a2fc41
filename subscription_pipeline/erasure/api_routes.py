"""`POST /erasures`: the API form of `forget` (authenticated by the service's bearer tokens).

Body `{"erasures": [{"key": "...", "reason": "..."}]}`. Each valid key is recorded in the
registry at once (the service refuses its PUTs and lookups from that moment) and queued for the
purge the next run applies first; the answer is `202` with each entry's hash, never the key.
An invalid key records nothing of the request and answers `422` naming the entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

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
    """The calling client's name as the auth layer set it (`name:token`), never the token: the
    guard's request context (`request_context.client`) when there is one."""
    state = request.scope.get("state") or {}
    context = state.get("request_context")
    return str(getattr(context, "client", None) or state.get("client_name") or "unnamed")


def request_evidence(request: Request) -> dict[str, str | None]:
    """What the API records as evidence of a request's observations (the request id is added
    where it is made)."""
    return {
        "client": client_of(request),
        "remote_addr": request.client.host if request.client else None,
    }


def add_erasure_route(app: FastAPI, data_dir: Path, region: str) -> None:
    @app.post("/erasures")
    def post_erasures(body: ErasuresBody, request: Request) -> JSONResponse:
        try:
            secret = load_secret()
        except ErasureSecretMissing as exc:
            return JSONResponse(
                status_code=503, content={"errors": [{"code": "NO_SECRET", "message": str(exc)}]}
            )
        parsed: list[ErasureRequest] = []
        errors = []
        for index, item in enumerate(body.erasures):
            reason = item.reason if isinstance(item.reason, str) else None
            result = parse_request(item.key if isinstance(item.key, str) else "", reason, region)
            if isinstance(result, str):
                errors.append(
                    {"index": index, "field": f"erasures[{index}].key", "code": "INVALID_KEY",
                     "message": result}
                )  # fmt: skip
            else:
                parsed.append(result)
        if errors:
            return JSONResponse(status_code=422, content={"errors": errors})
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
