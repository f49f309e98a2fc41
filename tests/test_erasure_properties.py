"""Erasing one contact leaves every other contact's state and history exactly as the reference
fold of their own observations says, after the purge and after any later resolution."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subscription_pipeline.erasure.purge_warehouse import purge_contact
from subscription_pipeline.erasure.search import find_in_warehouse
from subscription_pipeline.erasure.spellings import contact_spellings
from subscription_pipeline.resolve.engine import resolve_all, resolve_pending
from subscription_pipeline.warehouse.connection import connect
from tests.hypothesis_profiles import examples
from tests.reference_fold import fold
from tests.resolution_helpers import (
    HISTORY_COLUMNS,
    STATE_COLUMNS,
    as_tuples,
    insert_observations,
    read_tuples,
)
from tests.test_resolution_properties import CONTACTS, histories

ALL_CONTACTS = sorted({c for contacts in CONTACTS.values() for c in contacts})


def _assert_fold(con, rows) -> None:
    state, history = fold(rows)
    assert read_tuples(con, "subscription_state", STATE_COLUMNS) == as_tuples(state, STATE_COLUMNS)
    assert read_tuples(con, "subscription_history", HISTORY_COLUMNS) == as_tuples(
        history, HISTORY_COLUMNS
    )


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_erasure_leaves_every_other_contact_as_it_was(data: st.DataObject) -> None:
    rows = data.draw(histories("mixed"), label="observations")
    erased = data.draw(st.sampled_from(ALL_CONTACTS), label="erased")
    others = [r for r in rows if r["contact"] != erased]
    with tempfile.TemporaryDirectory() as tmp:
        con = connect(Path(tmp) / "warehouse.duckdb", threads=1)
        insert_observations(con, rows)
        resolve_all(con)
        spellings = contact_spellings(erased, con)
        purge_contact(con, erased, spellings)
        _assert_fold(con, others)
        assert find_in_warehouse(con, [erased]) == []
        resolve_pending(con)  # nothing of it comes back, nothing else moves
        _assert_fold(con, others)
        resolve_all(con)
        _assert_fold(con, others)
        con.close()
