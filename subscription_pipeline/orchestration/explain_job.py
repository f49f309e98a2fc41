"""`explain_contact`: the why of one contact, from the UI (Jobs -> explain_contact -> Launchpad).

The contact is the run's config and the timeline is the op's output metadata (and the run's
log), so the answer stays with the run that asked for it. That run holds personal data at the
user's explicit request, and is tagged `pii=true`; no asset's metadata ever does.
"""

import dagster as dg

from subscription_pipeline.orchestration.resources import WarehouseResource
from subscription_pipeline.orchestration.tags import PII
from subscription_pipeline.resolve.explain import explain_contact
from subscription_pipeline.warehouse.connection import connect


class ExplainConfig(dg.Config):
    contact: str
    channel: str | None = None  # email | sms | whatsapp; empty: every channel


@dg.op(description="Print one contact's timeline and the rule of each step.")
def explain_one_contact(
    context: dg.OpExecutionContext, config: ExplainConfig, warehouse: WarehouseResource
) -> str:
    # The analysts' published copy: it never waits for a writing run (docs/warehouse.md).
    con = connect(warehouse.warehouse_path(), read_only=True)
    try:
        timeline = explain_contact(
            con, config.contact, config.channel, default_region=warehouse.default_region
        )
    finally:
        con.close()
    context.log.info("\n" + timeline)
    context.add_output_metadata({"timeline": dg.MetadataValue.md(f"```\n{timeline}\n```")})
    return timeline


@dg.job(
    name="explain_contact",
    tags=PII,
    description="The timeline of one contact (run config: contact, optional channel): every "
    "step, its source, outcome and reason, and the current state. The run keeps personal data.",
)
def explain_contact_job():
    explain_one_contact()
