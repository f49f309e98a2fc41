"""The evidence JSON of a CSV row: valid JSON whatever the text, blank consent values left out."""

from __future__ import annotations

import json

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from subscription_pipeline.ingest.csv_evidence import CONSENT_COLUMNS, evidence
from tests.hypothesis_profiles import examples

# Text a UTF-8 file can hold (no surrogates). Python's str.strip() also strips the separators
# \x1c-\x1f, which polars (Unicode White_Space) keeps: the oracle below is Python's.
CHARS = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x1c\x1d\x1e\x1f")
TEXT = st.text(alphabet=CHARS, max_size=12)


@settings(max_examples=examples(100), deadline=None)
@given(
    file_name=st.text(alphabet=CHARS, min_size=1, max_size=20),
    values=st.lists(st.tuples(*(TEXT for _ in CONSENT_COLUMNS)), min_size=1, max_size=5),
)
def test_evidence_is_json_of_the_trimmed_values(file_name: str, values: list[tuple]) -> None:
    consent = {name: f"c{i}" for i, name in enumerate(CONSENT_COLUMNS)}
    frame = pl.DataFrame(
        [list(row) for row in values],
        schema={column: pl.String for column in consent.values()},
        orient="row",
    ).with_row_index("row_number", offset=1)
    found = frame.select(e=evidence(file_name, "ff", consent)).get_column("e").to_list()
    for number, (text, row) in enumerate(zip(found, values, strict=True), start=1):
        expected = {"file": file_name, "sha256": "ff", "row": number}
        expected |= {n: v.strip() for n, v in zip(CONSENT_COLUMNS, row, strict=True) if v.strip()}
        assert json.loads(text) == expected
