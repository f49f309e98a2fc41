-- The state rows of the scope, read off its history (the last applied step of each channel and
-- group) and its observations (first/last seen, blanks and blocked ones included; user_id).
INSERT INTO subscription_state
WITH seen AS (
    SELECT
        channel, contact, NULL::VARCHAR AS subscription_group,
        min(effective_at) AS first_seen_at, max(effective_at) AS last_seen_at
    FROM resolution_ordered
    GROUP BY channel, contact
    UNION ALL
    -- Groups are registered by status-bearing observations only (ordered.sql drops blank ones).
    SELECT channel, contact, subscription_group, min(effective_at), max(effective_at)
    FROM resolution_ordered
    WHERE subscription_group IS NOT NULL
    GROUP BY channel, contact, subscription_group
),
users AS (
    SELECT channel, contact, arg_max(user_id, seq) FILTER (WHERE user_id IS NOT NULL) AS user_id
    FROM resolution_ordered
    GROUP BY channel, contact
),
locks AS (
    SELECT channel, contact, arg_max(locked_after, replay_step) AS locked
    FROM resolution_history
    GROUP BY channel, contact
),
last_applied AS (
    SELECT
        channel, contact, subscription_group,
        arg_max(
            {'status': observed_status, 'at': effective_at, 'kind': source_kind, 'ref': source_ref},
            replay_step
        ) AS step
    FROM resolution_history
    WHERE outcome = 'applied'
    GROUP BY channel, contact, subscription_group
)
SELECT
    s.channel,
    s.contact,
    s.subscription_group,
    a.step.status,
    a.step.at,
    a.step.kind,
    a.step.ref,
    coalesce(l.locked, false),
    u.user_id,
    s.first_seen_at,
    s.last_seen_at
FROM seen s
JOIN users u ON u.channel = s.channel AND u.contact = s.contact
LEFT JOIN locks l ON l.channel = s.channel AND l.contact = s.contact
LEFT JOIN last_applied a
    ON a.channel = s.channel
    AND a.contact = s.contact
    AND a.subscription_group IS NOT DISTINCT FROM s.subscription_group;
