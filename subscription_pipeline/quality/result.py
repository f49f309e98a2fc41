"""What a quality check returns: pass/fail, the failure cases, and a markdown summary."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

# Failure frames are capped: the summary says how many there were, the frame shows examples.
MAX_FAILURE_ROWS = 1_000


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    failures: pl.DataFrame
    summary: str  # markdown, one paragraph (plus a table of failures when it failed)
    rows_checked: int = 0

    @property
    def markdown(self) -> str:
        return self.summary


def verdict(name: str, passed: bool, detail: str) -> str:
    return f"{'✅' if passed else '❌'} **{name}**: {detail}"


def failures_table(frame: pl.DataFrame, limit: int = 10) -> str:
    """A short markdown table of the first failures (cells cut to stay readable)."""
    if frame.is_empty():
        return ""
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * frame.width]
    for row in frame.head(limit).rows():
        cells = ["" if v is None else str(v).replace("|", "\\|").replace("\n", " ") for v in row]
        lines.append("| " + " | ".join(c if len(c) <= 80 else c[:77] + "..." for c in cells) + " |")
    if frame.height > limit:
        lines.append(f"\n_… {frame.height - limit} more_")
    return "\n".join(lines)


def quality_markdown(results: list[CheckResult]) -> str:
    """All results as one markdown document, failed checks with their first failures."""
    passed = sum(result.passed for result in results)
    parts = [f"# Data quality: {passed}/{len(results)} checks passed"]
    parts += [result.summary for result in results]
    return "\n\n".join(parts) + "\n"
