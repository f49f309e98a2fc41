"""The Dagster instance is created by one process at a time; the CLI prints no BetaWarning."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from subscription_pipeline.orchestration.instance import (
    InstanceUnavailable,
    creation_lock,
    open_instance,
)

# Imports everything first, then starts the reconcile at the same instant as its siblings:
# the race is in the first seconds of a reconcile, after the imports.
RACER = """
import sys, time
from subscription_pipeline import cli
from subscription_pipeline.orchestration import launch, runner  # noqa: F401
start = float(sys.argv[1])
time.sleep(max(0.0, start - time.time()))
sys.exit(cli.main(sys.argv[2:]))
"""


def test_open_instance_waits_for_the_creation_lock(dagster_home: Path) -> None:
    with creation_lock(dagster_home), pytest.raises(InstanceUnavailable, match="for over 0 s"):
        open_instance(wait_seconds=0.2)
    with open_instance() as instance:
        assert instance.get_runs(limit=1) == []


def test_a_broken_instance_is_one_line(dagster_home: Path) -> None:
    (dagster_home / "dagster.yaml").write_text("run_storage: [not, a, mapping]\n")
    with pytest.raises(InstanceUnavailable, match=r"^cannot open the Dagster instance at .*: \w+"):
        open_instance()


def test_cli_prints_no_beta_warning_and_keeps_other_warnings(tmp_path: Path) -> None:
    code = (
        "import warnings\n"
        "from subscription_pipeline.cli import silence_beta_warnings\n"
        "silence_beta_warnings()\n"
        "import subscription_pipeline.definitions\n"
        "warnings.warn('still shown', UserWarning)\n"
    )
    env = os.environ | {"DAGSTER_HOME": str(tmp_path), "PYTHONWARNINGS": "default"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert "BetaWarning" not in done.stderr
    assert "still shown" in done.stderr


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_reconciles_started_together_on_a_fresh_home(dagster_home: Path, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    for folder in ("segment-logs", "uploads"):
        (landing / folder).mkdir(parents=True)
    start = time.time() + 30  # after every racer's imports, even on a loaded machine
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(start), "reconcile", "--data-dir", str(landing)]
            + ["--warehouse", str(tmp_path / f"warehouse{n}.duckdb")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    for racer in racers:
        _, err = racer.communicate(timeout=800)
        assert "Traceback" not in err, err
        assert "BetaWarning" not in err, err
        # Each has its own warehouse: nothing but the instance is shared, and all finish.
        assert racer.returncode == 0, err

    # The instance is sound afterwards: one alembic head, runs recorded.
    with dg.DagsterInstance.get() as instance:
        assert instance.get_runs()
