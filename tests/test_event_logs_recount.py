"""The applied/duplicate split is recounted only for the messages a day touches: after any
order of ingests and re-ingests it equals a recount of every event-log file from scratch."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from subscription_pipeline.ingest.event_logs import ingest_log_day
from subscription_pipeline.ingest.settings import IngestSettings
from subscription_pipeline.warehouse.connection import connect
from tests.log_files import assert_balanced, day_dir, entry, identify, write_log

DAYS = ("2024-03-14", "2024-03-15", "2024-03-16")

# The global recount the ledger must agree with (the message_winners view over everything).
FULL_RECOUNT = """
SELECT
    l.source_file,
    l.applied,
    l.duplicate,
    count(*) FILTER (m.outcome = 'applied' AND w.message_id IS NOT NULL) AS want_applied,
    count(*) FILTER (m.outcome = 'applied' AND w.message_id IS NULL) AS want_duplicate
FROM input_ledger l
LEFT JOIN log_messages m USING (source_file)
LEFT JOIN message_winners w ON w.source_file = m.source_file AND w.line_number = m.line_number
WHERE l.source_kind = 'event_log'
GROUP BY ALL
HAVING l.applied <> want_applied OR l.duplicate <> want_duplicate
"""


def _write_days(data_dir: Path, rng: random.Random) -> None:
    """Three days of two files each; message ids m0..m11 are redelivered across files and days,
    some copies applied, some rejected (bad key), with receivedAt ties and missing values."""
    for day in DAYS:
        for name in ("a.gz", "b.gz"):
            lines = []
            for _ in range(rng.randint(2, 7)):
                message_id = f"m{rng.randint(0, 11)}"
                key = rng.choice(["x@example.com", "y@example.com", "not-an-email"])
                second = rng.choice(["00", "05", "05", "30"])
                received = rng.choice([f"{day}T10:00:{second}Z", None])
                lines.append(identify(message_id, [entry(key)], received_at=received))
            write_log(data_dir, day, name, lines)


@pytest.mark.parametrize("seed", range(5))
def test_ledger_split_equals_a_full_recount_in_any_order(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    _write_days(data_dir, rng)
    con = connect(tmp_path / "warehouse.duckdb")
    order = [*DAYS, *rng.sample(DAYS, 2)]
    rng.shuffle(order)
    for step, day in enumerate(order):
        if step == 3:
            # A day rewritten without one of its files: its copies no longer win anywhere.
            (day_dir(data_dir, day) / "b.gz").unlink()
        ingest_log_day(con, data_dir, day, IngestSettings())
        assert_balanced(con)
        assert con.sql(FULL_RECOUNT).fetchall() == []
    totals = con.sql(
        "SELECT sum(duplicate) FROM input_ledger WHERE source_kind = 'event_log'"
    ).fetchall()
    assert totals[0][0] > 0  # the scenario does exercise duplicates
    con.close()
