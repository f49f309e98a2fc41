-- The replay of SPEC 3 without recursion: every "state before this observation" is a running
-- window aggregate over the rows before it in replay order, so the whole scope is resolved by
-- a few window passes and equality joins. Reads resolution_ordered (ordered.sql).
-- The passes carry only what the rules read, keyed by (vid, seq); the descriptive columns
-- (times, sources, references) are joined back once, when the rows are written (history.sql's
-- steps go to history_steps through engine.py, and to state.sql).
CREATE OR REPLACE TEMP TABLE resolution_steps AS
WITH bearing AS (
    -- Blank observations take no part in the replay.
    SELECT
        vid, seq, channel, source_kind, subscription_group, status,
        source_kind = 'event' AND status = 'did_not_subscribe' AS is_event_dns
    FROM resolution_ordered
    WHERE status IS NOT NULL
),
channel_window AS (
    -- Pass 1, per vector. Locked <=> the last keyword was an opt-out (the state is then
    -- `unsubscribed`). Unlocked, every channel observation since the last keyword applied except
    -- event DNS ones, so the last non-event-DNS observation is the last applied one; event DNS
    -- observations after it applied (as DNS) only if nothing was applied before them.
    SELECT
        *,
        coalesce(
            last_value(
                CASE WHEN subscription_group IS NULL AND source_kind = 'keyword' THEN status END
                IGNORE NULLS
            ) OVER before = 'unsubscribed',
            false
        ) AS locked_before,
        last_value(
            CASE WHEN subscription_group IS NULL AND NOT is_event_dns THEN status END IGNORE NULLS
        ) OVER before AS last_plain_status,
        coalesce(bool_or(subscription_group IS NULL AND is_event_dns) OVER before, false)
            AS event_dns_before
    FROM bearing
    WINDOW before AS (
        PARTITION BY vid ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
    )
),
channel_state AS (
    SELECT
        * EXCLUDE (last_plain_status, event_dns_before),
        CASE
            WHEN locked_before THEN 'unsubscribed'
            WHEN last_plain_status IS NOT NULL THEN last_plain_status
            WHEN event_dns_before THEN 'did_not_subscribe'
        END AS channel_before
    FROM channel_window
),
channel_rules AS (
    SELECT
        *,
        coalesce(channel_before IN ('subscribed', 'unsubscribed'), false) AS channel_decided,
        -- While locked, a step is judged by the unlocked rules: would it change the status?
        locked_before
            AND source_kind <> 'keyword'
            AND NOT (is_event_dns AND channel_decided)
            AND status IS DISTINCT FROM channel_before AS locked_blocks
    FROM channel_state
),
channel_steps AS (
    SELECT
        * EXCLUDE (channel_decided, locked_blocks),
        CASE
            WHEN subscription_group IS NOT NULL THEN NULL
            WHEN source_kind = 'keyword' THEN 'applied'
            WHEN locked_blocks THEN 'blocked'
            WHEN locked_before OR (is_event_dns AND channel_decided) THEN 'ignored'
            ELSE 'applied'
        END AS channel_outcome,
        CASE
            WHEN subscription_group IS NOT NULL OR source_kind = 'keyword' THEN NULL
            WHEN locked_blocks THEN 'UNABLE_TO_SUBSCRIBE'
            WHEN is_event_dns AND channel_decided THEN 'DNS_AFTER_DECISION'
            WHEN locked_before THEN 'LOCKED_NO_CHANGE'
        END AS channel_reason
    FROM channel_rules
),
cascade_window AS (
    -- Pass 2, per vector: the last cascade before each step. A cascade is an applied
    -- channel-level `unsubscribed` on an email, whether or not it changed the status.
    SELECT
        *,
        subscription_group IS NULL
            AND channel = 'email'
            AND status = 'unsubscribed'
            AND channel_outcome = 'applied' AS is_cascade,
        max(CASE WHEN is_cascade THEN seq END) OVER (
            PARTITION BY vid ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS last_cascade_seq
    FROM channel_steps
),
group_window AS (
    -- Pass 3, per vector and group. A group `subscribed` while the channel is not is blocked
    -- whatever its source; every other non-event-DNS group observation applies.
    SELECT
        *,
        first_value(seq) OVER in_group AS first_registered,
        last_value(CASE WHEN plain_applies THEN seq END IGNORE NULLS) OVER before AS plain_seq,
        last_value(CASE WHEN plain_applies THEN status END IGNORE NULLS) OVER before
            AS plain_status,
        max(CASE WHEN is_event_dns THEN seq END) OVER before AS event_dns_seq
    FROM (
        SELECT
            *,
            status = 'subscribed' AND channel_before IS DISTINCT FROM 'subscribed' AS global_blocks,
            NOT is_event_dns AND NOT global_blocks AS plain_applies
        FROM cascade_window
        WHERE subscription_group IS NOT NULL
    )
    WINDOW
        in_group AS (PARTITION BY vid, subscription_group ORDER BY seq),
        before AS (
            PARTITION BY vid, subscription_group ORDER BY seq
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        )
),
group_state AS (
    -- The group's state before the step: the later of its last applied non-event-DNS
    -- observation and the last cascade since it was registered; event DNS steps after an
    -- undecided state applied, after a decided one were ignored.
    SELECT
        *,
        CASE
            WHEN last_cascade_seq > first_registered
                AND last_cascade_seq > coalesce(plain_seq, 0) THEN 'unsubscribed'
            WHEN plain_status IN ('subscribed', 'unsubscribed') THEN plain_status
            WHEN event_dns_seq > coalesce(plain_seq, 0) THEN 'did_not_subscribe'
            ELSE plain_status
        END AS group_before
    FROM group_window
),
group_steps AS (
    SELECT
        *,
        CASE
            WHEN global_blocks THEN 'blocked'
            WHEN is_event_dns AND group_before IN ('subscribed', 'unsubscribed') THEN 'ignored'
            ELSE 'applied'
        END AS outcome,
        CASE
            WHEN global_blocks THEN 'GLOBAL_STATE_NOT_SUBSCRIBED'
            WHEN is_event_dns AND group_before IN ('subscribed', 'unsubscribed')
                THEN 'DNS_AFTER_DECISION'
        END AS reason
    FROM group_state
),
groups_known AS (
    SELECT vid, subscription_group, min(seq) AS first_registered
    FROM bearing
    WHERE subscription_group IS NOT NULL
    GROUP BY ALL
),
steps AS (
    -- cascade_order 1: a cascaded group change, described by the observation that cascaded.
    SELECT
        vid, subscription_group, seq, 0 AS cascade_order,
        status AS observed_status,
        channel_outcome AS outcome,
        channel_reason AS reason,
        CASE WHEN channel_outcome = 'applied' THEN status ELSE channel_before END AS status_after,
        CASE WHEN source_kind = 'keyword' THEN status = 'unsubscribed' ELSE locked_before END
            AS locked_after
    FROM cascade_window
    WHERE subscription_group IS NULL
    UNION ALL
    SELECT
        vid, subscription_group, seq, 0,
        status, outcome, reason,
        CASE WHEN outcome = 'applied' THEN status ELSE group_before END,
        locked_before
    FROM group_steps
    UNION ALL
    -- Each cascade unsubscribes every group registered before it, as its own applied step.
    SELECT
        c.vid, g.subscription_group, c.seq, 1,
        'unsubscribed', 'applied', NULL, 'unsubscribed',
        CASE WHEN c.source_kind = 'keyword' THEN c.status = 'unsubscribed' ELSE c.locked_before END
    FROM cascade_window c
    JOIN groups_known g ON g.vid = c.vid
    WHERE c.is_cascade AND g.first_registered < c.seq
)
SELECT
    *,
    row_number() OVER (
        PARTITION BY vid ORDER BY seq, cascade_order, subscription_group
    ) AS replay_step
FROM steps;
