-- Every registering observation of the scope with its position in the replay order (SPEC 3).
-- The order is total: items 1-6 of the contract, then every remaining column as a tie-breaker,
-- so that a full rebuild and any sequence of incremental runs number the rows alike.
-- A blank group status registers nothing and is left out; a blank channel status sorts before
-- the statuses of its time (rank 0) and only counts for first/last seen and user_id.
-- Vectors are partitioned by their integer id (resolution_vectors): sorting within a vector
-- never compares the contact strings. source_ref is computed after the sort, not carried by it.
CREATE OR REPLACE TEMP TABLE resolution_ordered AS
SELECT
    *,
    CASE source_kind
        WHEN 'csv' THEN source_file || ':' || row_number
        WHEN 'api' THEN source
        ELSE source_file || '#' || message_id
    END AS source_ref
FROM (
    SELECT
        o.vid,
        o.channel,
        o.source_kind,
        o.source_file,
        o.row_number,
        o.message_id,
        o.source,
        o.subscription_group,
        o.status,
        o.effective_at,
        o.user_id,
        row_number() OVER (
            PARTITION BY o.vid
            ORDER BY
                o.effective_at,
                coalesce(list_position($status_order, o.status), 0),
                list_position($source_order, o.source_kind) NULLS LAST,
                o.source NULLS LAST,
                o.row_number NULLS LAST,
                o.subscription_group IS NOT NULL,
                o.subscription_group NULLS LAST,
                o.source_file NULLS LAST,
                o.message_id NULLS LAST,
                o.partition_key NULLS LAST,
                o.user_id NULLS LAST,
                o.anonymous_id NULLS LAST,
                o.received_at NULLS LAST
        ) AS seq
    FROM resolution_input o
    WHERE o.status IS NOT NULL OR o.subscription_group IS NULL
);
