"""Heavy libraries are imported by the steps that use them, not by every start."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _imported_after(module: str, candidates: tuple[str, ...]) -> set[str]:
    """Which of `candidates` a fresh interpreter has loaded after importing `module`."""
    code = f"import sys, {module}; print(' '.join(m for m in {candidates!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


@pytest.mark.parametrize(
    "module",
    ["subscription_pipeline.cli", "subscription_pipeline.orchestration.runner"],
)
def test_a_reconcile_with_nothing_to_do_imports_no_dataframe_library(module: str) -> None:
    assert _imported_after(module, ("pandera", "pandas", "polars", "matplotlib")) == set()


def test_loading_the_definitions_leaves_matplotlib_and_pandera_to_their_steps() -> None:
    # Every run loads the definitions; only the report draws, only uploads and checks validate.
    heavy = ("matplotlib", "pandera", "pandas")
    assert _imported_after("subscription_pipeline.definitions", heavy) == set()
