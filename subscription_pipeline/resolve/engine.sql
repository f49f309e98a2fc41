-- The statements engine.py runs around the replay (ordered.sql, history.sql, history_rows.sql,
-- history_changed.sql, state.sql): the scope of a run, its writes and its counts.

-- name: dirty_from_queue
CREATE OR REPLACE TEMP TABLE resolution_dirty AS
SELECT DISTINCT channel, contact FROM dirty_vectors;

-- name: dirty_of_bucket
-- The vectors of one hash bucket of a rebuild, from their observations.
CREATE OR REPLACE TEMP TABLE resolution_dirty AS
SELECT DISTINCT channel, contact FROM observations
WHERE hash(channel, contact) % $buckets = $bucket;

-- name: dirty_of_queue_bucket
-- The queued vectors of one hash bucket of an incremental resolution.
CREATE OR REPLACE TEMP TABLE resolution_dirty AS
SELECT DISTINCT channel, contact FROM dirty_vectors
WHERE hash(channel, contact) % $buckets = $bucket;

-- name: delete_bucket_state
DELETE FROM subscription_state WHERE hash(channel, contact) % $buckets = $bucket;

-- name: delete_bucket_history
DELETE FROM history_steps WHERE hash(channel, contact) % $buckets = $bucket;

-- name: clear_dirty_bucket
DELETE FROM dirty_vectors WHERE hash(channel, contact) % $buckets = $bucket;

-- name: plan_buckets
INSERT INTO resolution_buckets
SELECT b, $buckets, $rebuild, (SELECT count(*) FROM dirty_vectors) FROM range($buckets) r(b);

-- name: plan_read
SELECT bucket, buckets, rebuild, queued FROM resolution_buckets ORDER BY bucket;

-- name: plan_bucket_written
DELETE FROM resolution_buckets WHERE bucket = $bucket;

-- name: plan_queued
-- The plan now expects the dirty rows left after a bucket cleared its own.
UPDATE resolution_buckets SET queued = (SELECT count(*) FROM dirty_vectors);

-- name: dirty_rows
SELECT count(*) FROM dirty_vectors;

-- name: delete_all_state
DELETE FROM subscription_state;

-- name: delete_all_history
DELETE FROM history_steps;

-- name: vectors_all
-- Every vector gets an integer id for the run, so the replay's sorts and joins never compare
-- contact strings; the scope's observations carry it as `vid`.
CREATE OR REPLACE TEMP TABLE resolution_vectors AS
SELECT row_number() OVER () AS vid, channel, contact
FROM (SELECT DISTINCT channel, contact FROM observations);

-- name: vectors_dirty
CREATE OR REPLACE TEMP TABLE resolution_vectors AS
SELECT row_number() OVER () AS vid, channel, contact FROM resolution_dirty;

-- name: scope_all
CREATE OR REPLACE TEMP VIEW resolution_input AS
SELECT o.*, v.vid FROM effective_observations o
JOIN resolution_vectors v ON v.channel = o.channel AND v.contact = o.contact;

-- name: scope_dirty
-- The dirty vectors' observations first, then (winners_dirty) the de-duplication of only their
-- messages: the window of message_winners is partitioned by message_id, so as a statement of
-- its own the IN filter is pushed below it instead of ranking every log line (inside the bigger
-- query it is not). A line's observations carry the line's messageId.
CREATE OR REPLACE TEMP TABLE resolution_scope AS
SELECT o.*, v.vid FROM observations o
JOIN resolution_vectors v ON v.channel = o.channel AND v.contact = o.contact;

-- name: winners_dirty
CREATE OR REPLACE TEMP TABLE resolution_winners AS
SELECT source_file, line_number FROM message_winners
WHERE message_id IN (
    SELECT message_id FROM resolution_scope WHERE source_kind IN ('event', 'keyword')
);

-- name: input_dirty
CREATE OR REPLACE TEMP VIEW resolution_input AS
SELECT s.* FROM resolution_scope s
WHERE s.source_kind NOT IN ('event', 'keyword')
UNION ALL
SELECT s.* FROM resolution_scope s
SEMI JOIN resolution_winners w ON w.source_file = s.source_file AND w.line_number = s.row_number
WHERE s.source_kind IN ('event', 'keyword');

-- name: delete_dirty_state
-- A vector whose observations are all gone keeps no rows.
DELETE FROM subscription_state t USING resolution_dirty d
WHERE t.channel = d.channel AND t.contact = d.contact;

-- name: insert_history
INSERT INTO history_steps SELECT * FROM resolution_history_rows;

-- name: history_new
CREATE OR REPLACE TEMP TABLE resolution_history_new AS SELECT * FROM resolution_history_rows;

-- name: delete_changed_history
DELETE FROM history_steps t USING resolution_history_from f
WHERE t.channel = f.channel AND t.contact = f.contact AND t.replay_step >= f.first_changed;

-- name: insert_changed_history
INSERT INTO history_steps
SELECT n.* FROM resolution_history_new n
JOIN resolution_history_from f ON f.channel = n.channel AND f.contact = n.contact
WHERE n.replay_step >= f.first_changed;

-- name: clear_dirty_queue
DELETE FROM dirty_vectors;

-- name: drop_temporaries
DROP VIEW IF EXISTS resolution_input;
DROP VIEW IF EXISTS resolution_history_rows;
DROP TABLE IF EXISTS resolution_scope;
DROP TABLE IF EXISTS resolution_winners;
DROP TABLE IF EXISTS resolution_dirty;
DROP TABLE IF EXISTS resolution_vectors;
DROP TABLE IF EXISTS resolution_ordered;
DROP TABLE IF EXISTS resolution_steps;
DROP TABLE IF EXISTS resolution_history_new;
DROP TABLE IF EXISTS resolution_history_from;
DROP TABLE IF EXISTS resolution_live;

-- name: observations_and_memory_limit
SELECT count(*), current_setting('memory_limit') FROM observations;

-- name: dirty_count
SELECT count(*) FROM resolution_dirty;

-- name: known_vectors
SELECT count(*) FROM subscription_state WHERE subscription_group IS NULL;

-- name: vectors_replayed
SELECT count(DISTINCT vid) FROM resolution_ordered;

-- name: rows_written
-- state.sql writes a channel row per vector, plus a row per registered group.
SELECT
    (SELECT count(DISTINCT vid) FROM resolution_ordered)
        + (SELECT count(DISTINCT (vid, subscription_group)) FROM resolution_ordered
           WHERE subscription_group IS NOT NULL),
    (SELECT count(*) FROM resolution_steps);

-- name: export_rebuild_observations
-- The fan-out (fan_out.py): a rebuild's effective observations by bucket, for workers that
-- never open the warehouse. Read back by path, so the bucket is only in the folder names.
COPY (
    SELECT o.*, hash(o.channel, o.contact) % $buckets AS bucket
    FROM effective_observations o
    WHERE list_contains($remaining, hash(o.channel, o.contact) % $buckets)
) TO $folder (FORMAT parquet, PARTITION_BY (bucket), OVERWRITE_OR_IGNORE);

-- name: export_rebuild_vectors
COPY (
    SELECT DISTINCT channel, contact, hash(channel, contact) % $buckets AS bucket
    FROM observations
    WHERE list_contains($remaining, hash(channel, contact) % $buckets)
) TO $folder (FORMAT parquet, PARTITION_BY (bucket), OVERWRITE_OR_IGNORE);

-- name: export_dirty_observations
-- An incremental plan's scope (resolution_input of every queued vector, scope_dirty and after).
COPY (
    SELECT o.* EXCLUDE (vid), hash(o.channel, o.contact) % $buckets AS bucket
    FROM resolution_input o
    WHERE list_contains($remaining, hash(o.channel, o.contact) % $buckets)
) TO $folder (FORMAT parquet, PARTITION_BY (bucket), OVERWRITE_OR_IGNORE);

-- name: export_dirty_vectors
COPY (
    SELECT channel, contact, hash(channel, contact) % $buckets AS bucket
    FROM resolution_dirty
    WHERE list_contains($remaining, hash(channel, contact) % $buckets)
) TO $folder (FORMAT parquet, PARTITION_BY (bucket), OVERWRITE_OR_IGNORE);

-- name: bucket_vectors_empty
CREATE OR REPLACE TEMP TABLE resolution_dirty AS
SELECT channel, contact FROM dirty_vectors WHERE false;

-- name: bucket_vectors_read
INSERT INTO resolution_dirty
SELECT channel, contact FROM read_parquet($files, hive_partitioning = false);

-- name: bucket_scope_empty
CREATE OR REPLACE TEMP TABLE resolution_scope AS
SELECT o.*, NULL::BIGINT AS vid FROM observations o WHERE false;

-- name: bucket_scope_read
INSERT INTO resolution_scope
SELECT o.*, v.vid
FROM read_parquet($files, hive_partitioning = false) o
JOIN resolution_vectors v ON v.channel = o.channel AND v.contact = o.contact;

-- name: bucket_input
CREATE OR REPLACE TEMP VIEW resolution_input AS SELECT * FROM resolution_scope;

-- name: bucket_state_out
COPY subscription_state TO $path (FORMAT parquet);

-- name: bucket_history_out
COPY history_steps TO $path (FORMAT parquet);

-- name: bucket_live
-- The loader writes only vectors that still have observations: a contact erased after the
-- export (its observations deleted) must not come back from the bucket's files.
CREATE OR REPLACE TEMP TABLE resolution_live AS
SELECT DISTINCT o.channel, o.contact FROM observations o
SEMI JOIN resolution_dirty d ON d.channel = o.channel AND d.contact = o.contact;

-- name: insert_state_file
INSERT INTO subscription_state
SELECT f.* FROM read_parquet($path, hive_partitioning = false) f
SEMI JOIN resolution_live l ON l.channel = f.channel AND l.contact = f.contact;

-- name: insert_history_file
INSERT INTO history_steps
SELECT f.* FROM read_parquet($path, hive_partitioning = false) f
SEMI JOIN resolution_live l ON l.channel = f.channel AND l.contact = f.contact;

-- name: history_new_file
CREATE OR REPLACE TEMP TABLE resolution_history_new AS FROM history_steps LIMIT 0;

-- name: history_new_file_rows
INSERT INTO resolution_history_new
SELECT f.* FROM read_parquet($path, hive_partitioning = false) f
SEMI JOIN resolution_live l ON l.channel = f.channel AND l.contact = f.contact;

-- name: file_rows
SELECT count(*) FROM read_parquet($path, hive_partitioning = false);

-- name: bucket_vectors_out
COPY resolution_dirty TO $path (FORMAT parquet);
