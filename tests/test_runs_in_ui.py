"""The CLI's runs are runs of the UI's code location: listed under their job, re-executable."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.tags import REPOSITORY_LABEL_TAG
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster_graphql.test.utils import execute_dagster_graphql

from subscription_pipeline.orchestration.instance import DEFINITIONS_MODULE
from subscription_pipeline.orchestration.runner import reconcile
from subscription_pipeline.warehouse.connection import connect

# What the UI's "Re-execute all" sends.
REEXECUTE_ALL = """
mutation($parentRunId: String!) {
  launchPipelineReexecution(reexecutionParams: {parentRunId: $parentRunId, strategy: ALL_STEPS}) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""

# What the job's page asks for its runs.
JOB_RUNS = """
query($location: String!, $job: String!) {
  pipelineOrError(params: {repositoryLocationName: $location,
                           repositoryName: "__repository__", pipelineName: $job}) {
    __typename
    ... on Pipeline { runs { runId } }
  }
}
"""


def _state(warehouse: Path) -> list[tuple]:
    con = connect(warehouse, read_only=True)
    try:
        return sorted(con.execute("SELECT * FROM subscription_state").fetchall(), key=repr)
    finally:
        con.close()


def _wait_until_finished(
    instance: dg.DagsterInstance, run_id: str, timeout: float
) -> dg.DagsterRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.is_finished:
            return run
        time.sleep(1.0)
    raise AssertionError(f"run {run_id} did not finish within {timeout} s")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_cli_runs_show_under_their_job_and_reexecute_from_the_ui(
    dagster_home: Path, sample_landing_zone: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    result = reconcile(sample_landing_zone, warehouse)
    state = _state(warehouse)
    resolve_run_id = result.runs[-1].run_id

    with dg.DagsterInstance.get() as instance:
        # The Jobs pages and the Overview timeline list a location's runs by this tag.
        label = f"__repository__@{DEFINITIONS_MODULE}"
        listed = instance.get_runs(filters=dg.RunsFilter(tags={REPOSITORY_LABEL_TAG: label}))
        assert {run.run_id for run in listed} == {run.run_id for run in result.runs}

        # The workspace `dagster dev -m subscription_pipeline.definitions` loads, as the UI does.
        target = ModuleTarget(DEFINITIONS_MODULE, None, None, None)
        with WorkspaceProcessContext(instance, target) as process_context:
            context = process_context.create_request_context()
            for job in {run.job for run in result.runs}:
                page = execute_dagster_graphql(
                    context, JOB_RUNS, {"location": DEFINITIONS_MODULE, "job": job}
                ).data["pipelineOrError"]
                assert page["__typename"] == "Pipeline", page
                shown = {run["runId"] for run in page["runs"]}
                assert shown == {run.run_id for run in result.runs if run.job == job}

            response = execute_dagster_graphql(
                context, REEXECUTE_ALL, {"parentRunId": resolve_run_id}
            )
            launched = response.data["launchPipelineReexecution"]
            assert launched["__typename"] == "LaunchRunSuccess", launched
            child_id = launched["run"]["runId"]
            # The instance queues runs (dagster.yaml limits concurrent runs); the daemon's
            # dequeuer would launch it next, as this does.
            if instance.get_run_by_id(child_id).status == dg.DagsterRunStatus.QUEUED:
                instance.launch_run(child_id, context)
            child = _wait_until_finished(instance, child_id, timeout=600)

    assert child.status == dg.DagsterRunStatus.SUCCESS
    assert child.parent_run_id == resolve_run_id
    assert child.job_name == "resolve_state"
    assert _state(warehouse) == state
