"""Owners and tags, by Dagster's conventions: owners are `team:` names (or e-mail addresses),
tags are short key/value pairs the UI filters on (`domain`, `layer`, `pii`)."""

DATA_TEAM = "team:data-engineering"

# Whether the asset's stored data holds personal data (emails, phone numbers): its metadata and
# previews never do (counts and masked examples only).
PII = {"pii": "true"}
NO_PII = {"pii": "false"}


def asset_tags(layer: str, *, pii: bool) -> dict[str, str]:
    return {"domain": "consent", "layer": layer, **(PII if pii else NO_PII)}
