"""Starting the service: tokens and spaces read from the environment once, at start, never at
import."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import uvicorn

from subscription_pipeline.api.app import ApiSettings, create_app
from subscription_pipeline.api.spaces import SPACES_ENV, SpaceMismatch, spaces_from_env
from subscription_pipeline.api.tokens import parse_token_config
from subscription_pipeline.normalize import DEFAULT_REGION

TOKENS_ENV = "SUBSCRIPTION_API_TOKENS"
log = logging.getLogger("subscription_pipeline.api")


def tokens_from_env() -> dict[str, str]:
    """{token: client name} from `name:token` or bare `token` items, comma-separated."""
    return parse_token_config(os.environ.get(TOKENS_ENV, ""))


def serve(
    data_dir: Path, host: str = "127.0.0.1", port: int = 8000, region: str = DEFAULT_REGION
) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    tokens = tokens_from_env()
    if not tokens:
        log.warning("%s is empty: every request will be refused (401)", TOKENS_ENV)
    spaces = spaces_from_env()
    if not os.environ.get(SPACES_ENV, "").strip():
        log.warning("%s is unset: serving the sample space %s only", SPACES_ENV, *spaces)
    log.info("serving space(s) %s for client(s) %s", sorted(spaces), sorted(set(tokens.values())))
    settings = ApiSettings(data_dir=data_dir, tokens=tokens, spaces=spaces, default_region=region)
    try:
        app = create_app(settings)
    except SpaceMismatch as exc:
        raise SystemExit(f"serve: {exc}") from None
    # No uvicorn access log: the guard writes one line per reply (request id, status, client),
    # never a contact or a token.
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
