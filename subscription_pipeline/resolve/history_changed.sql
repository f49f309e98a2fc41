-- For each vector of the scope, the first replay step whose stored history row differs from
-- the new one (resolution_history_new), or exists on one side only. The rows before it are
-- identical and stay where they are: a vector whose new observations all come after its old
-- ones (the usual night) only appends, and DuckDB has no scattered deletes to checkpoint.
-- Steps are unique per vector, so (channel, contact, replay_step) pairs the two sides.
-- A pair differs when its whole rows do: the key columns are equal by the join, and IS DISTINCT
-- FROM on rows compares every column, NULLs as equal (both sides have the table's columns).
CREATE OR REPLACE TEMP TABLE resolution_history_from AS
SELECT coalesce(n.channel, o.channel) AS channel,
       coalesce(n.contact, o.contact) AS contact,
       min(coalesce(n.replay_step, o.replay_step)) AS first_changed
FROM (
    SELECT t.* FROM history_steps t
    SEMI JOIN resolution_dirty d ON d.channel = t.channel AND d.contact = t.contact
) o
FULL OUTER JOIN resolution_history_new n
  ON n.channel = o.channel AND n.contact = o.contact AND n.replay_step = o.replay_step
WHERE o.replay_step IS NULL OR n.replay_step IS NULL OR o IS DISTINCT FROM n
GROUP BY 1, 2;
