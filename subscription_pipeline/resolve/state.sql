-- The state rows of the scope, read off its replay steps (the last applied step of each channel
-- and group) and its observations (first/last seen, blanks and blocked ones included; user_id).
INSERT INTO subscription_state
WITH seen AS (
    SELECT
        vid, NULL::VARCHAR AS subscription_group,
        min(effective_at) AS first_seen_at, max(effective_at) AS last_seen_at
    FROM resolution_ordered
    GROUP BY vid
    UNION ALL
    -- Groups are registered by status-bearing observations only (ordered.sql drops blank ones).
    SELECT vid, subscription_group, min(effective_at), max(effective_at)
    FROM resolution_ordered
    WHERE subscription_group IS NOT NULL
    GROUP BY vid, subscription_group
),
users AS (
    SELECT vid, arg_max(user_id, seq) FILTER (WHERE user_id IS NOT NULL) AS user_id
    FROM resolution_ordered
    GROUP BY vid
),
locks AS (
    SELECT vid, arg_max(locked_after, replay_step) AS locked
    FROM resolution_steps
    GROUP BY vid
),
last_applied AS (
    SELECT
        vid,
        subscription_group,
        arg_max(
            {'status': observed_status, 'seq': seq, 'cascade': cascade_order = 1}, replay_step
        ) AS step
    FROM resolution_steps
    WHERE outcome = 'applied'
    GROUP BY vid, subscription_group
)
SELECT
    v.channel,
    v.contact,
    s.subscription_group,
    a.step.status,
    o.effective_at,
    CASE WHEN a.step.cascade THEN 'cascade' ELSE o.source_kind END,
    o.source_ref,
    coalesce(l.locked, false),
    u.user_id,
    s.first_seen_at,
    s.last_seen_at
FROM seen s
JOIN resolution_vectors v ON v.vid = s.vid
JOIN users u ON u.vid = s.vid
LEFT JOIN locks l ON l.vid = s.vid
LEFT JOIN last_applied a
    ON a.vid = s.vid AND a.subscription_group IS NOT DISTINCT FROM s.subscription_group
LEFT JOIN resolution_ordered o ON o.vid = s.vid AND o.seq = a.step.seq;
