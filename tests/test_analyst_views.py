"""What an analyst sees in the UI: group-level counts, a column schema, a preview without
personal data, and the why of one contact through the explain_contact job."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from subscription_pipeline.definitions import defs
from subscription_pipeline.orchestration.checks import to_dagster
from subscription_pipeline.orchestration.explain_job import explain_contact_job
from subscription_pipeline.orchestration.report_assets import api_snapshot
from subscription_pipeline.orchestration.state_assets import resolved_subscriptions
from subscription_pipeline.quality import CheckResult
from tests.dagster_runs import ingest_one_upload

BODY = (
    "email,phone,email_subscription_status,newsletter_subscription_status,sms_subscription_status\n"
    "olivia.stone@example.org,+17202634410,subscribed,subscribed,unsubscribed\n"
    "marc.weber@example.org,,unsubscribed,,\n"
)


def _metadata_text(metadata: dict) -> str:
    return " ".join(str(value.value) for value in metadata.values())


def test_state_metadata_has_group_counts_and_no_personal_data(tmp_path: Path) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        resource = ingest_one_upload(instance, tmp_path, BODY)
        assert dg.materialize(
            [resolved_subscriptions], instance=instance, resources={"warehouse": resource}
        ).success
        state = instance.get_latest_materialization_event(dg.AssetKey("subscription_state"))
        metadata = state.asset_materialization.metadata

        counts = {
            (r.data["channel"], r.data["group"], r.data["status"]): r.data["contacts"]
            for r in metadata["counts"].value.records
        }
        assert counts[("email", "newsletter", "subscribed")] == 1
        assert counts[("email", "(channel)", "unsubscribed")] == 1
        text = _metadata_text(metadata)
        for personal in ("olivia.stone", "marc.weber", "7202634410"):
            assert personal not in text
        assert "o***@example.org" in metadata["preview"].value
        # The preview keeps the columns an analyst filters on, not every column.
        assert metadata["preview"].value.splitlines()[0].count("|") <= 8

        # Run with the resolution: the result records no personal data either, nor in logs.
        logs = instance.all_logs(state.run_id)
        assert not any("olivia.stone" in (entry.user_message or "") for entry in logs)

    spec = defs.resolve_assets_def("subscription_state").specs_by_key[
        dg.AssetKey("subscription_state")
    ]
    columns = [c.name for c in spec.metadata["dagster/column_schema"].columns]
    assert columns[:4] == ["channel", "contact", "subscription_group", "status"]
    assert spec.owners and spec.tags["pii"] == "true"
    # A missed night (no resolution for 26 hours) fails the state's freshness.
    assert spec.freshness_policy.fail_window.to_timedelta() == timedelta(hours=26)


def test_explain_contact_job_prints_the_timeline(tmp_path: Path) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        resource = ingest_one_upload(instance, tmp_path, BODY)
        dg.materialize(
            [resolved_subscriptions, api_snapshot],
            instance=instance,
            resources={"warehouse": resource},
        )
        result = explain_contact_job.execute_in_process(
            run_config={
                "ops": {
                    "explain_one_contact": {
                        "config": {"contact": " Olivia.Stone@example.org", "channel": "email"}
                    }
                }
            },
            instance=instance,
            resources={"warehouse": resource},
        )
        assert result.success
        timeline = result.output_for_node("explain_one_contact")
        assert "olivia.stone@example.org" in timeline
        assert "newsletter" in timeline
        run = instance.get_run_by_id(result.run_id)
        assert run.tags["pii"] == "true"


def test_a_failed_check_names_no_contact_in_its_metadata() -> None:
    failures = pl.DataFrame(
        {"channel": ["email", "sms"], "contact": ["olivia.stone@example.org", "+17202634410"]}
    )
    result = CheckResult(
        "state_key_unique", False, failures, "❌ 2 duplicate keys\n\n| olivia.stone@example.org |"
    )
    key = dg.AssetCheckKey(dg.AssetKey("subscription_state"), "state_key_unique")
    evaluation = to_dagster(result, dg.AssetCheckSeverity.ERROR, key)
    text = _metadata_text(evaluation.metadata)
    assert "olivia.stone" not in text and "7202634410" not in text
    assert "o***@example.org" in text
