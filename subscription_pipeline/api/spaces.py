"""The spaces a service answers for (`SUBSCRIPTION_SPACE_ID`, comma-separated).

A data directory holds one subscription state (one inbox, one warehouse). Every space id listed
answers from that one state: list several ids only for the same audience (an old and a new id
of one space). Separate audiences are separate data directories, each with its own `serve` and
`reconcile`. So that state never leaks between audiences by a change of configuration, a
service refuses to start on an inbox that holds requests of a space it is not configured for.
"""

from __future__ import annotations

import os
from pathlib import Path

from subscription_pipeline.api.inbox import inbox_path, recorded_spaces

SPACES_ENV = "SUBSCRIPTION_SPACE_ID"
# When unset: the space id of the examples in Segment's SDK documentation (SpacesApi.md), so
# that those examples run unchanged against a local service.
SAMPLE_SPACE_ID = "9aQ1Lj62S4bomZKLF4DPqW"


class SpaceMismatch(RuntimeError):
    """The inbox holds requests of spaces this service is not configured for."""


def parse_spaces(raw: str | None) -> frozenset[str]:
    spaces = frozenset(item.strip() for item in (raw or "").split(",") if item.strip())
    return spaces or frozenset({SAMPLE_SPACE_ID})


def spaces_from_env() -> frozenset[str]:
    return parse_spaces(os.environ.get(SPACES_ENV))


def check_inbox_spaces(data_dir: Path, spaces: frozenset[str]) -> None:
    foreign = recorded_spaces(inbox_path(data_dir)) - spaces
    if foreign:
        raise SpaceMismatch(
            f"the inbox under {data_dir} holds requests of space(s) {', '.join(sorted(foreign))}, "
            f"not in {SPACES_ENV} ({', '.join(sorted(spaces))}): add them if they are the same "
            "audience, or serve this space from its own --data-dir"
        )
