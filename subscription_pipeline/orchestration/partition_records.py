"""What each ingestion partition records: its own counts and ledger, and its own check verdict
(a rejected, missing or empty input is a warning on that partition, never a green success)."""

from collections.abc import Iterator

import dagster as dg

from subscription_pipeline.ingest.store import LEDGER_COUNTS, LedgerEntry


def ledger_metadata(entries: list[LedgerEntry]) -> dict[str, dg.MetadataValue]:
    """One partition's counts a person looks for first, plus its per-file accounting."""
    totals = {field: sum(getattr(entry, field) for entry in entries) for field in LEDGER_COUNTS}
    lines = [
        "| file | status | rows in | applied | ignored | duplicate | rejected | error |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {e.source_file} | {e.status} | {e.rows_in} | {e.applied} | {e.ignored} | "
        f"{e.duplicate} | {e.rejected} | {e.error_code or ''} |"
        for e in entries[:200]
    ]
    return {
        "files": dg.MetadataValue.int(len(entries)),
        "files_rejected": dg.MetadataValue.int(sum(e.status == "rejected" for e in entries)),
        **{name: dg.MetadataValue.int(value) for name, value in totals.items()},
        "dagster/row_count": dg.MetadataValue.int(totals["applied"]),
        **(
            {"accounting_balanced": dg.MetadataValue.bool(all(e.balanced for e in entries))}
            if entries
            else {}
        ),
        "ledger": dg.MetadataValue.md("\n".join(lines) if entries else "_no input_"),
    }


def partition_verdict(entries: list[LedgerEntry], missing: str | None) -> tuple[bool, str]:
    """Whether a partition's inputs were all taken in, and if not, why (for its check)."""
    if missing:
        return False, missing
    if not entries:
        return False, "no input for this partition"
    rejected = [e for e in entries if e.status == "rejected"]
    if rejected:
        return False, "; ".join(
            f"{e.source_file} rejected: {e.error_code} {e.error_message or ''}".strip()
            for e in rejected[:20]
        )
    return True, f"{len(entries)} file(s) ingested"


class PartitionRecorder:
    """Each partition's own metadata (never the run's totals) and its own check result.

    A run may hold a range of partitions (a backfill in one run). Dagster ties an
    AssetCheckResult to the run's partition, which a range does not have, so each partition's
    verdict is an AssetCheckEvaluation aimed at it; the step's own check result then sums up
    the range (for a single partition it is that partition's verdict).
    """

    def __init__(self, context: dg.AssetExecutionContext, check_name: str) -> None:
        self.context = context
        self.check_name = check_name
        self.failures: list[str] = []
        self.single = context.has_partition_key

    def record(
        self, partition: str, entries: list[LedgerEntry], missing: str | None = None
    ) -> Iterator[dg.AssetCheckEvaluation]:
        self.context.add_asset_metadata(ledger_metadata(entries), partition_key=partition)
        passed, reason = partition_verdict(entries, missing)
        if not passed:
            self.failures.append(f"{partition}: {reason}")
        if not self.single:
            yield dg.AssetCheckEvaluation(
                asset_key=self.context.asset_key,
                check_name=self.check_name,
                passed=passed,
                severity=dg.AssetCheckSeverity.WARN,
                description=reason,
                metadata={"reason": dg.MetadataValue.text(reason)},
                partition=partition,
            )

    def result(self) -> dg.AssetCheckResult:
        summary = "; ".join(self.failures[:20]) or "every input accepted"
        return dg.AssetCheckResult(
            check_name=self.check_name,
            passed=not self.failures,
            severity=dg.AssetCheckSeverity.WARN,
            description=summary,
            metadata={
                "reason": dg.MetadataValue.text(summary),
                "partitions_failed": dg.MetadataValue.int(len(self.failures)),
            },
        )
