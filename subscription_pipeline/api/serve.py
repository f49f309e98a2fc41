"""Starting the service: tokens read from the environment once, at start, never at import."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import uvicorn

from subscription_pipeline.api.app import ApiSettings, create_app
from subscription_pipeline.normalize import DEFAULT_REGION

TOKENS_ENV = "SUBSCRIPTION_API_TOKENS"
log = logging.getLogger("subscription_pipeline.api")


def tokens_from_env() -> frozenset[str]:
    raw = os.environ.get(TOKENS_ENV, "")
    return frozenset(token.strip() for token in raw.split(",") if token.strip())


def serve(
    data_dir: Path, host: str = "127.0.0.1", port: int = 8000, region: str = DEFAULT_REGION
) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    tokens = tokens_from_env()
    if not tokens:
        log.warning("%s is empty: every request will be refused (401)", TOKENS_ENV)
    app = create_app(ApiSettings(data_dir=data_dir, tokens=tokens, default_region=region))
    # No access log: a line per request costs latency at 200 req/s; the service logs its own
    # line per request (request id and counts, never a contact).
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
