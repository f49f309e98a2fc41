-- Parsing one received day of Segment event logs, set-based, from the staged raw lines
-- (_log_stage: source_file, line_number, line, bad_utf8, kept) and the vocabulary (_log_vocab:
-- kind, spelling, value). Each section below is one statement, run in order by event_logs.py;
-- `$name` values are parameters, never spliced text.

-- name: keep_macro
-- Which raw lines are parsed at all: those that can matter (the raw text names subscriptions or
-- an inbound message; a `\u` escape could spell either) and those to reject (not blank and not
-- a JSON object). Every other line is a valid message that cannot apply anything: counted as
-- ignored, unparsed. The cheap tests come first: OR evaluates its right side only where the
-- left is false. A line starting with '{' is never blank and is an object exactly when it is
-- valid JSON: that common case is one json_valid and nothing else (CPU of the read -9%).
CREATE OR REPLACE TEMP MACRO _log_keep(line) AS
    contains(line, 'messaging_subscriptions')
    OR contains(line, 'SMS Received')
    OR contains(line, 'WhatsApp Message Received')
    OR contains(line, '\u')
    OR CASE
        WHEN starts_with(line, '{') THEN NOT json_valid(line)
        ELSE NOT (json_valid(line) AND starts_with(ltrim(line, E' \t'), '{'))
            AND NOT regexp_full_match(line, '\s*')
    END;

-- name: utc_macro
-- An ISO-8601 string as naive UTC; a string without an offset is UTC (never the session zone).
CREATE OR REPLACE TEMP MACRO _log_utc(s) AS timezone(
    'UTC',
    try_cast(
        CASE
            WHEN regexp_matches(upper(trim(s)), ':\d\d(\.\d+)?\s*(Z|[+-]\d\d(:?\d\d)?)$')
                THEN upper(trim(s))
            ELSE trim(s) || '+00:00'
        END AS TIMESTAMPTZ
    )
);

-- name: json_kind_macro
-- The JSON type of a value from_json kept as JSON text, from its first character (DuckDB
-- returns that text minified; a JSON null is SQL NULL): no second parse to ask json_type.
CREATE OR REPLACE TEMP MACRO _log_json_kind(value) AS CASE
    WHEN value IS NULL THEN NULL
    WHEN starts_with(value, '[') THEN 'list'
    WHEN starts_with(value, '{') THEN 'one object'
    WHEN starts_with(value, '"') THEN 'a string'
    WHEN value IN ('true', 'false') THEN 'a boolean'
    ELSE 'a number'
END;

-- name: evidence_macro
-- Proof of consent as one field of a JSON object ('"k":v'), NULL for a null value, joined by
-- concat_ws (which skips NULLs): several times cheaper than building a MAP and serialising it.
CREATE OR REPLACE TEMP MACRO _log_evidence_field(name, value) AS
    '"' || name || '":' || to_json(value::VARCHAR);

-- name: lines
-- One row per parsed line (the kept ones): what kind of line it is and, for a JSON object, the
-- fields that matter, extracted with an explicit structure (a field of another type reads as
-- NULL; messaging_subscriptions is kept as raw JSON so that a wrong type can be rejected).
CREATE OR REPLACE TEMP TABLE _log_lines AS
WITH classified AS (
    SELECT
        source_file,
        line_number,
        line,
        -- The common case first: CASE tests each WHEN only on the rows no earlier one took.
        CASE
            WHEN bad_utf8 THEN 'not_utf8'
            -- Valid JSON starting with '{' is an object: no second parse to ask its type.
            WHEN json_valid(line) AND starts_with(ltrim(line, E' \t'), '{') THEN 'message'
            WHEN regexp_full_match(line, '\s*') THEN 'blank'
            WHEN NOT json_valid(line) THEN 'invalid_json'
            ELSE 'not_object'
        END AS line_kind
    FROM _log_stage
    WHERE kept
),
parsed AS (
    SELECT
        *,
        CASE WHEN line_kind = 'message' THEN from_json(line, '{
            "type": "VARCHAR", "event": "VARCHAR", "messageId": "VARCHAR",
            "timestamp": "VARCHAR", "receivedAt": "VARCHAR",
            "userId": "VARCHAR", "anonymousId": "VARCHAR",
            "properties": {"from": "VARCHAR", "to": "VARCHAR", "body": "VARCHAR"},
            "context": {
                "messaging_subscriptions": "JSON",
                "ip": "VARCHAR", "userAgent": "VARCHAR",
                "page": {"url": "VARCHAR", "path": "VARCHAR"},
                "library": {"name": "VARCHAR", "version": "VARCHAR"}
            }
        }') END AS m
    FROM classified
),
timed AS (
    SELECT
        source_file,
        line_number,
        line,
        line_kind,
        lower(trim(m.type)) AS msg_type,
        m.event AS event,
        CASE
            WHEN line_kind <> 'message' THEN NULL
            WHEN nullif(trim(m.messageId), '') IS NOT NULL THEN trim(m.messageId)
            -- No messageId: an id from the content, whitespace-insensitive (minified JSON).
            ELSE 'sha256:' || sha256(json(line))
        END AS message_id,
        m.timestamp AS timestamp_raw,
        m.receivedAt AS received_raw,
        _log_utc(m.timestamp) AS event_ts,
        _log_utc(m.receivedAt) AS received_parsed,
        m.userId AS user_id,
        m.anonymousId AS anonymous_id,
        m.properties."from" AS sender_raw,
        m.properties.to AS recipient_raw,
        m.properties.body AS body,
        m.context.messaging_subscriptions AS subscriptions_json,
        _log_json_kind(m.context.messaging_subscriptions) AS subscriptions_type,
        -- Evidence, built into JSON only for the observations stored (insert_observations).
        m.context.ip AS ip,
        m.context.userAgent AS user_agent,
        m.context.page.url AS page_url,
        m.context.page.path AS page_path,
        nullif(concat_ws('/', m.context.library.name, m.context.library.version), '') AS library
    FROM parsed
),
clamped AS (
    SELECT
        *,
        -- Segment received it on this day: a later receivedAt is clamped to the day's end.
        -- (least() would skip a NULL: a missing receivedAt stays missing.)
        CASE WHEN received_parsed > $day_end THEN $day_end ELSE received_parsed END AS received_at,
        -- Without receivedAt, Segment still received it on this day: its end is the limit.
        least(received_parsed, $day_end) AS latest_at
    FROM timed
)
SELECT
    -- The line's text stays in _log_stage: only a rejected line's is read again from there.
    * EXCLUDE (line, latest_at, received_parsed),
    CASE
        WHEN received_parsed > $day_end THEN printf(
            'receivedAt %s is after the end of its received day %s; clamped to %s',
            received_raw, $day, $day_end
        )
    END AS received_warning,
    CASE
        WHEN event_ts IS NULL THEN coalesce(received_at, $day_start)
        WHEN event_ts > latest_at + to_seconds($tolerance) THEN latest_at
        ELSE event_ts
    END AS effective_at,
    CASE
        WHEN event_ts IS NOT NULL AND event_ts <= latest_at + to_seconds($tolerance) THEN NULL
        WHEN timestamp_raw IS NULL THEN 'MISSING_TIMESTAMP'
        WHEN event_ts IS NULL THEN 'INVALID_TIMESTAMP'
        ELSE 'FUTURE_TIMESTAMP'
    END AS warning_code,
    CASE
        WHEN event_ts IS NOT NULL AND event_ts <= latest_at + to_seconds($tolerance) THEN NULL
        WHEN event_ts IS NOT NULL THEN printf(
            'timestamp %s is more than %d s after receivedAt; clamped to %s',
            timestamp_raw, $tolerance, latest_at
        )
        ELSE concat(
            CASE
                WHEN timestamp_raw IS NULL THEN 'timestamp is missing'
                ELSE printf('timestamp %s cannot be parsed', to_json(timestamp_raw))
            END,
            CASE
                WHEN received_at IS NOT NULL THEN printf('; using receivedAt %s', received_at)
                ELSE printf('; receivedAt is missing too, using the received day %s', $day_start)
            END
        )
    END AS warning_message
FROM clamped;

-- name: candidates
-- Everything a line asks to apply: each messaging_subscriptions entry of an identify/track,
-- and the keyword of an inbound message. Groups count for EMAIL only (ignored elsewhere).
-- A messaging_subscriptions (or an EMAIL entry's groups) that is present but not a list is one
-- candidate with a shape error, rejected as INVALID_SUBSCRIPTIONS: never "no subscriptions".
CREATE OR REPLACE TEMP TABLE _log_candidates AS
WITH messages AS (
    -- What identifies a line, once for both branches below (and the keyword one's list).
    SELECT
        source_file,
        line_number,
        message_id,
        effective_at,
        received_at,
        user_id,
        anonymous_id,
        subscriptions_json,
        subscriptions_type
    FROM _log_lines
    WHERE
        line_kind = 'message'
        AND msg_type IN ('identify', 'track')
        AND subscriptions_type IS NOT NULL
),
entries AS (
    SELECT
        * EXCLUDE (subscriptions),
        unnest(subscriptions) AS entry,
        generate_subscripts(subscriptions, 1) - 1 AS entry_index
    FROM (
        SELECT
            * EXCLUDE (subscriptions_json, subscriptions_type),
            from_json(subscriptions_json, '[{
                "key": "VARCHAR", "type": "VARCHAR", "status": "VARCHAR", "groups": "JSON"
            }]') AS subscriptions
        FROM messages
        WHERE subscriptions_type = 'list'
    )
)
SELECT
    e.* EXCLUDE (entry),
    'event' AS source_kind,
    'messaging_subscriptions[' || e.entry_index || ']' AS field,
    'messaging_subscriptions[' || e.entry_index || '].key' AS key_field,
    e.entry.type AS type_raw,
    c.value AS channel,
    e.entry.status AS status_raw,
    s.value AS status,
    e.entry."key" AS key_raw,
    CASE WHEN c.value = 'email' THEN 'email' ELSE 'phone' END AS key_kind,
    NULL::VARCHAR AS shape_error,
    CASE
        WHEN c.value = 'email' AND _log_json_kind(e.entry.groups) <> 'list' THEN printf(
            'messaging_subscriptions[%d].groups must be a list of {"name", "status"}, got %s',
            e.entry_index, _log_json_kind(e.entry.groups)
        )
    END AS groups_error,
    CASE
        WHEN c.value = 'email' AND _log_json_kind(e.entry.groups) = 'list'
            THEN from_json(e.entry.groups, '[{"name": "VARCHAR", "status": "VARCHAR"}]')
    END AS groups
FROM entries e
LEFT JOIN _log_vocab c ON c.kind = 'channel' AND c.spelling = lower(trim(e.entry.type))
LEFT JOIN _log_vocab s ON s.kind = 'status' AND s.spelling = lower(trim(e.entry.status))
UNION ALL BY NAME
SELECT
    * EXCLUDE (subscriptions_json, subscriptions_type),
    NULL AS entry_index,
    'event' AS source_kind,
    'context.messaging_subscriptions' AS field,
    'context.messaging_subscriptions' AS key_field,
    printf(
        'context.messaging_subscriptions must be a list of entries, got %s', subscriptions_type
    ) AS shape_error
FROM messages
WHERE subscriptions_type <> 'list'
UNION ALL BY NAME
SELECT
    l.source_file,
    l.line_number,
    l.message_id,
    l.effective_at,
    l.received_at,
    l.user_id,
    l.anonymous_id,
    NULL AS entry_index,
    'keyword' AS source_kind,
    'properties' AS field,
    'properties.from' AS key_field,
    l.event AS type_raw,
    ev.value AS channel,
    l.body AS status_raw,
    kw.value AS status,
    l.sender_raw AS key_raw,
    'phone' AS key_kind,
    NULL AS groups
FROM _log_lines l
JOIN _log_vocab ev ON ev.kind = 'inbound_event' AND ev.spelling = l.event
JOIN _log_vocab kw
    ON kw.kind = 'keyword' AND kw.spelling = lower(regexp_replace(l.body, '^\s+|\s+$', '', 'g'))
WHERE l.line_kind = 'message' AND l.msg_type = 'track';

-- name: judged
-- Each candidate on its own: the first defect found rejects it, its siblings are untouched.
CREATE OR REPLACE TEMP TABLE _log_judged AS
WITH checked AS (
    SELECT
        c.*,
        n.normalized AS contact,
        n.error_message AS key_error,
        list_filter(c.groups, lambda g: nullif(trim(g.name), '') IS NULL) AS unnamed_groups,
        list_filter(
            c.groups,
            lambda g: NOT coalesce(list_contains($statuses, lower(trim(g.status))), false)
        ) AS bad_groups
    FROM _log_candidates c
    -- The cache was filled for every key of a known channel (normalize.fill_normalization_cache).
    LEFT JOIN normalized_identifiers n
        ON c.channel IS NOT NULL
        AND n.kind = c.key_kind
        AND n.region = CASE WHEN c.key_kind = 'phone' THEN $region ELSE '' END
        AND n.raw = c.key_raw
)
SELECT
    * EXCLUDE (key_error, unnamed_groups, bad_groups, shape_error, groups_error),
    CASE
        WHEN shape_error IS NOT NULL THEN 'INVALID_SUBSCRIPTIONS'
        WHEN channel IS NULL THEN 'INVALID_CHANNEL'
        WHEN status IS NULL THEN 'INVALID_SUBSCRIPTION_STATUS'
        WHEN contact IS NULL AND key_kind = 'email' THEN 'INVALID_EMAIL'
        WHEN contact IS NULL THEN 'INVALID_PHONE'
        WHEN groups_error IS NOT NULL THEN 'INVALID_SUBSCRIPTIONS'
        WHEN len(unnamed_groups) > 0 THEN 'INVALID_GROUP'
        WHEN len(bad_groups) > 0 THEN 'INVALID_SUBSCRIPTION_STATUS'
    END AS error_code,
    CASE
        WHEN shape_error IS NOT NULL THEN shape_error
        WHEN channel IS NULL THEN field || ': ' || coalesce(
            printf('unknown type %s', to_json(type_raw)), 'type is missing'
        ) || ' (expected EMAIL, SMS or WHATSAPP)'
        WHEN status IS NULL THEN field || ': ' || coalesce(
            printf('unknown status %s', to_json(status_raw)), 'status is missing'
        ) || ' (expected SUBSCRIBED, UNSUBSCRIBED or DID_NOT_SUBSCRIBE)'
        WHEN contact IS NULL THEN key_field || ': ' || coalesce(key_error, 'missing')
        WHEN groups_error IS NOT NULL THEN groups_error
        WHEN len(unnamed_groups) > 0 THEN field || '.groups: a group has no name'
        WHEN len(bad_groups) > 0 THEN printf(
            '%s.groups: group %s has status %s (expected SUBSCRIBED, UNSUBSCRIBED or '
            || 'DID_NOT_SUBSCRIBE)',
            field, to_json(trim(bad_groups[1].name)), coalesce(to_json(bad_groups[1].status), 'null')
        )
    END AS error_message
FROM checked;

-- name: outcomes
-- Each parsed line's fate before de-duplication: rejected (unreadable, or nothing of it valid),
-- applied (something valid to apply) or ignored (nothing to apply). Lines not parsed (see
-- keep_macro) are ignored: file_counts counts them from the stage.
CREATE OR REPLACE TEMP TABLE _log_outcomes AS
SELECT
    l.source_file,
    l.line_number,
    l.line_kind,
    l.message_id,
    l.received_at,
    CASE
        WHEN l.line_kind IN ('not_utf8', 'invalid_json', 'not_object') THEN 'rejected'
        WHEN l.line_kind = 'blank' THEN 'ignored'
        WHEN j.good > 0 THEN 'applied'
        WHEN j.total > 0 THEN 'rejected'
        ELSE 'ignored'
    END AS outcome
FROM _log_lines l
LEFT JOIN (
    SELECT source_file, line_number, count(*) AS total, count(*) FILTER (error_code IS NULL) AS good
    FROM _log_judged
    GROUP BY ALL
) j USING (source_file, line_number);

-- name: insert_observations
-- The channel itself, then one row per group; every copy of a message is stored, the
-- effective_observations view keeps the winner.
INSERT INTO observations (
    source_kind, partition_key, source_file, row_number, message_id, source, channel, contact,
    subscription_group, status, effective_at, received_at, user_id, anonymous_id
)
WITH good AS MATERIALIZED (
    SELECT * FROM _log_judged WHERE error_code IS NULL
),
grouped AS (
    SELECT * EXCLUDE (groups), unnest(groups) AS g FROM good
)
SELECT
    source_kind, $day, source_file, line_number, message_id, message_id, channel, contact,
    NULL, status, effective_at, received_at, user_id, anonymous_id
FROM good
UNION ALL
SELECT
    g.source_kind, $day, g.source_file, g.line_number, g.message_id, g.message_id, g.channel,
    g.contact, trim(g.g.name), s.value, g.effective_at, g.received_at, g.user_id, g.anonymous_id
FROM grouped g
JOIN _log_vocab s ON s.kind = 'status' AND s.spelling = lower(trim(g.g.status));

-- name: insert_evidence
-- The evidence JSON of every line with an applied observation, once per line however many
-- observations it gave, from the line's fields (a keyword's line adds the message as received:
-- body, from, to). The subscription_history view joins it to the line's steps.
INSERT INTO record_evidence (source_kind, partition_key, source_file, row_number, evidence)
SELECT
    'event_log',
    $day,
    l.source_file,
    l.line_number,
    '{' || concat_ws(
        ',',
        _log_evidence_field('message_id', l.message_id),
        _log_evidence_field('user_id', l.user_id),
        _log_evidence_field('anonymous_id', l.anonymous_id),
        _log_evidence_field('ip', l.ip),
        _log_evidence_field('user_agent', l.user_agent),
        _log_evidence_field('page_url', l.page_url),
        _log_evidence_field('page_path', l.page_path),
        _log_evidence_field('library', l.library),
        CASE WHEN k.keyword THEN nullif(concat_ws(
            ',',
            _log_evidence_field('body', l.body),
            _log_evidence_field('from', l.sender_raw),
            _log_evidence_field('to', l.recipient_raw)
        ), '') END
    ) || '}'
FROM _log_lines l
JOIN (
    SELECT source_file, line_number, bool_or(source_kind = 'keyword') AS keyword
    FROM _log_judged
    WHERE error_code IS NULL
    GROUP BY ALL
) k USING (source_file, line_number);

-- name: insert_rejections
INSERT INTO rejections (
    source_kind, partition_key, source_file, row_number, error_code, error_message, raw_record
)
SELECT
    'event_log', $day, l.source_file, l.line_number, 'INVALID_JSON',
    CASE l.line_kind
        WHEN 'not_utf8' THEN 'line is not valid UTF-8'
        WHEN 'not_object' THEN 'line is JSON but not an object (one Segment message per line)'
        ELSE 'line is not valid JSON'
    END,
    s.line
FROM _log_lines l
JOIN _log_stage s USING (source_file, line_number)
WHERE l.line_kind IN ('not_utf8', 'invalid_json', 'not_object') AND s.kept
UNION ALL
SELECT
    'event_log', $day, j.source_file, j.line_number, j.error_code, j.error_message, s.line
FROM _log_judged j
JOIN _log_stage s USING (source_file, line_number)
WHERE j.error_code IS NOT NULL AND s.kept;

-- name: insert_warnings
-- A repaired timestamp (or receivedAt) is on record for every line that applies something.
INSERT INTO ingest_warnings (
    source_kind, partition_key, source_file, row_number, warning_code, warning_message
)
WITH applied AS (
    SELECT l.*
    FROM _log_lines l
    JOIN _log_outcomes o USING (source_file, line_number)
    WHERE o.outcome = 'applied'
)
SELECT 'event_log', $day, source_file, line_number, warning_code, warning_message
FROM applied
WHERE warning_code IS NOT NULL
UNION ALL
SELECT 'event_log', $day, source_file, line_number, 'FUTURE_RECEIVED_AT', received_warning
FROM applied
WHERE received_warning IS NOT NULL;

-- name: insert_log_messages
INSERT INTO log_messages (
    partition_key, source_file, line_number, message_id, received_at, outcome
)
SELECT $day, source_file, line_number, message_id, received_at, outcome
FROM _log_outcomes
WHERE line_kind = 'message';

-- name: file_counts
-- Every line of a file is in the stage's numbering (its last line is always staged); the lines
-- that were not parsed are ignored.
WITH totals AS (
    SELECT source_file, max(line_number) AS rows_in FROM _log_stage GROUP BY source_file
),
parsed AS (
    SELECT
        source_file,
        count(*) FILTER (outcome = 'applied') AS applied,
        count(*) FILTER (outcome = 'rejected') AS rejected
    FROM _log_outcomes
    GROUP BY source_file
)
SELECT
    t.source_file,
    t.rows_in,
    coalesce(p.applied, 0) AS applied,
    t.rows_in - coalesce(p.applied, 0) - coalesce(p.rejected, 0) AS ignored,
    coalesce(p.rejected, 0) AS rejected
FROM totals t
LEFT JOIN parsed p USING (source_file);

-- name: file_warnings
SELECT source_file, count(*) AS warnings
FROM ingest_warnings
WHERE source_kind = 'event_log' AND partition_key = $day
GROUP BY source_file;

-- name: touched_messages
-- The messageIds this day held before (still in log_messages) or holds now: de-duplication is
-- global, but only the copies of these messages can change winner when the day is rewritten.
CREATE OR REPLACE TEMP TABLE _log_touched AS
SELECT message_id FROM log_messages WHERE partition_key = $day
UNION
SELECT message_id FROM _log_outcomes WHERE line_kind = 'message';

-- name: duplicates_before
-- Per file of other days: its applied lines among the touched messages that a copy elsewhere
-- wins (the message_winners rule, restricted to the touched messages), before the rewrite.
CREATE OR REPLACE TEMP TABLE _log_dup_before AS
SELECT source_file, count(*) AS duplicate
FROM (
    SELECT
        partition_key,
        source_file,
        outcome,
        row_number() OVER (
            PARTITION BY message_id ORDER BY received_at NULLS LAST, source_file, line_number
        ) AS copy
    FROM log_messages
    SEMI JOIN _log_touched USING (message_id)
)
WHERE outcome = 'applied' AND copy > 1 AND partition_key <> $day
GROUP BY source_file;

-- name: recount_duplicates
-- The same count after the rewrite, every day included. Lines of untouched messages keep their
-- winner, so each file's applied/duplicate split moves by the difference (their sum is fixed);
-- this day's files start from a fresh ledger row (duplicate 0) and no "before".
UPDATE input_ledger
SET
    applied = input_ledger.applied - d.delta,
    duplicate = input_ledger.duplicate + d.delta
FROM (
    SELECT
        source_file,
        coalesce(a.duplicate, 0) - coalesce(b.duplicate, 0) AS delta
    FROM (
        SELECT source_file, count(*) AS duplicate
        FROM (
            SELECT
                source_file,
                outcome,
                row_number() OVER (
                    PARTITION BY message_id
                    ORDER BY received_at NULLS LAST, source_file, line_number
                ) AS copy
            FROM log_messages
            SEMI JOIN _log_touched USING (message_id)
        )
        WHERE outcome = 'applied' AND copy > 1
        GROUP BY source_file
    ) a
    FULL OUTER JOIN _log_dup_before b USING (source_file)
) d
WHERE
    input_ledger.source_file = d.source_file
    AND input_ledger.source_kind = 'event_log'
    AND d.delta <> 0;
