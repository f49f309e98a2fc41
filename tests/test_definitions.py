"""The Dagster definitions load from a fresh clone, and the webserver serves the asset graph."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

BIN = Path(sys.executable).parent
EXPECTED_ASSETS = {
    "csv_uploads",
    "event_logs",
    "subscription_state",
    "subscription_history",
    "upload_error_reports",
}


@pytest.mark.slow  # the `dagster` CLI in its own process; the in-process check is fast
def test_definitions_validate(dagster_home: Path) -> None:
    completed = subprocess.run(
        [
            str(BIN / "dagster"),
            "definitions",
            "validate",
            "-m",
            "subscription_pipeline.definitions",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=os.environ.copy(),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_definitions_are_loadable() -> None:
    """What `dagster definitions validate` checks, in this process."""
    from subscription_pipeline.definitions import defs

    dg.Definitions.validate_loadable(defs)


def test_definitions_hold_the_asset_graph() -> None:
    from subscription_pipeline.definitions import defs

    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys >= EXPECTED_ASSETS
    assert {"upload_sensor"} <= {sensor.name for sensor in defs.sensors}
    assert {"nightly_reconcile"} <= {schedule.name for schedule in defs.schedules}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_webserver_serves_asset_keys(dagster_home: Path, tmp_path: Path) -> None:
    port = _free_port()
    log = (tmp_path / "webserver.log").open("w")
    server = subprocess.Popen(
        [
            str(BIN / "dagster-webserver"),
            "-m",
            "subscription_pipeline.definitions",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 180
        keys: set[str] = set()
        while time.monotonic() < deadline and not keys >= EXPECTED_ASSETS:
            time.sleep(2)
            assert server.poll() is None, (tmp_path / "webserver.log").read_text()
            try:
                answer = _graphql(port, "{ assetNodes { assetKey { path } } }")
            except OSError:
                continue
            nodes = (answer.get("data") or {}).get("assetNodes") or []
            keys = {"/".join(node["assetKey"]["path"]) for node in nodes}
        assert keys >= EXPECTED_ASSETS, (tmp_path / "webserver.log").read_text()
    finally:
        server.terminate()
        server.wait(timeout=30)
