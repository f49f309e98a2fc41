"""Day-by-day series from the history, by effective time (UTC day): what an analyst charts.

Both read `subscription_history` at channel level (groups left out), so they describe the state
the inputs say the contacts were in on each day, whenever those inputs were ingested.
"""

from __future__ import annotations

import duckdb
import polars as pl

from subscription_pipeline.reconciliation_report.tables import table_exists

# The statuses drawn over time; `did_not_subscribe` and "no status" are not consent decisions.
CHARTED_STATUSES = ("subscribed", "unsubscribed")

_STATE_SCHEMA = {"day": pl.Date, "channel": pl.String, "status": pl.String, "contacts": pl.Int64}
_OPT_OUT_SCHEMA = {"day": pl.Date, "source": pl.String, "opt_outs": pl.Int64}


def daily_state(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """day, channel, status, contacts: contacts in each status at the end of each day.

    A contact's state at the end of a day is the `status_after` of its last step that day (steps
    are numbered in effective-time order); a day without steps keeps the day before. Every day
    from the first to the last step is present, once per channel and charted status.
    """
    if not table_exists(con, "history_steps"):
        return pl.DataFrame(schema=_STATE_SCHEMA)
    return con.sql(
        """
        WITH end_of_day AS (
            SELECT channel, contact, effective_at::DATE AS day, status_after AS status
            FROM history_steps
            WHERE subscription_group IS NULL
            QUALIFY row_number() OVER (
                PARTITION BY channel, contact, effective_at::DATE ORDER BY replay_step DESC
            ) = 1
        ),
        changes AS (
            SELECT channel, day, status,
                   lag(status) OVER (PARTITION BY channel, contact ORDER BY day) AS before
            FROM end_of_day
        ),
        deltas AS (
            SELECT channel, day, status, 1 AS delta
            FROM changes WHERE status IS DISTINCT FROM before AND status IS NOT NULL
            UNION ALL
            SELECT channel, day, before, -1
            FROM changes WHERE status IS DISTINCT FROM before AND before IS NOT NULL
        ),
        days AS (
            SELECT unnest(range(min(day), max(day) + INTERVAL 1 DAY, INTERVAL 1 DAY))::DATE AS day
            FROM end_of_day
        ),
        grid AS (
            SELECT d.day, c.channel, s.status
            FROM days d
            CROSS JOIN (SELECT DISTINCT channel FROM end_of_day) c
            CROSS JOIN (SELECT unnest(?::VARCHAR[]) AS status) s
        )
        SELECT g.day, g.channel, g.status,
               (sum(coalesce(x.delta, 0)) OVER (
                    PARTITION BY g.channel, g.status ORDER BY g.day
               ))::BIGINT AS contacts
        FROM grid g
        LEFT JOIN (
            SELECT channel, day, status, sum(delta) AS delta FROM deltas GROUP BY ALL
        ) x USING (channel, day, status)
        ORDER BY g.channel, g.status, g.day
        """,
        params=[list(CHARTED_STATUSES)],
    ).pl()


def daily_opt_outs(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """day, source, opt_outs: channel-level unsubscribes applied per day, by source kind.

    Applied only: a blocked or ignored step changed nothing. A repeated STOP counts each time
    (each is an opt-out the contact sent); cascades are consequences, not opt-outs, and are
    group rows anyway.
    """
    if not table_exists(con, "history_steps"):
        return pl.DataFrame(schema=_OPT_OUT_SCHEMA)
    return con.sql(
        """
        SELECT effective_at::DATE AS day, source_kind AS source, count(*)::BIGINT AS opt_outs
        FROM history_steps
        WHERE subscription_group IS NULL
          AND observed_status = 'unsubscribed'
          AND outcome = 'applied'
        GROUP BY ALL
        ORDER BY day, source
        """
    ).pl()
