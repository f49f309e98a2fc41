-- The history rows of the scope: the replay steps (history.sql) with their observation's
-- descriptive columns and their vector's names joined back, in history_steps' column order
-- (the subscription_history view adds each record's evidence). engine.py inserts them, or
-- keeps them apart to compare with the stored rows.
CREATE OR REPLACE TEMP VIEW resolution_history_rows AS
SELECT
    v.channel,
    v.contact,
    s.subscription_group,
    s.replay_step,
    o.effective_at,
    CASE WHEN s.cascade_order = 1 THEN 'cascade' ELSE o.source_kind END AS source_kind,
    o.source,
    o.source_ref,
    o.source_file,
    o.row_number,
    o.message_id,
    o.user_id,
    s.observed_status,
    s.outcome,
    s.reason,
    s.status_after,
    s.locked_after
FROM resolution_steps s
JOIN resolution_ordered o ON o.vid = s.vid AND o.seq = s.seq
JOIN resolution_vectors v ON v.vid = s.vid
