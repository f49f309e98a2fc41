"""Choosing the engine: CLI flags, the broker requirement, the default for launched runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from subscription_pipeline.cli import main
from subscription_pipeline.orchestration.executors import (
    BROKER_ENV,
    DEFAULT_EXECUTOR_ENV,
    default_executor,
    execution_config,
)
from subscription_pipeline.orchestration.worker import worker_command


def test_without_a_broker_worker_and_celery_reconcile_stop_with_one_clear_line(
    dagster_home: Path,
    sample_landing_zone: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    monkeypatch.delenv(BROKER_ENV, raising=False)
    assert main(["worker", "--name", "w1"]) == 2
    assert BROKER_ENV in capsys.readouterr().err
    code = main(["reconcile", "--data-dir", str(sample_landing_zone), "--executor", "celery"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("reconcile failed:") and BROKER_ENV in err
    assert not (sample_landing_zone / "warehouse.duckdb").exists(), "nothing ran"


def test_worker_command_names_the_node_and_listens_on_dagsters_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(BROKER_ENV, "redis://127.0.0.1:6379/0")
    command = worker_command("w7", 3)
    assert command[command.index("--hostname") + 1].startswith("w7@")
    assert command[command.index("--concurrency") + 1] == "3"
    assert command[command.index("--queues") + 1] == "dagster"
    assert command[command.index("--loglevel") + 1] == "INFO"


def test_executor_choice_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert execution_config("celery") == {"execution": {"config": {"celery": {}}}}
    with pytest.raises(ValueError, match="unknown executor"):
        execution_config("threads")
    monkeypatch.delenv(DEFAULT_EXECUTOR_ENV, raising=False)
    assert default_executor() == "multiprocess"
    monkeypatch.setenv(DEFAULT_EXECUTOR_ENV, "celery")
    assert default_executor() == "celery"
    monkeypatch.setenv(DEFAULT_EXECUTOR_ENV, "gpu")
    with pytest.raises(ValueError, match=DEFAULT_EXECUTOR_ENV):
        default_executor()
