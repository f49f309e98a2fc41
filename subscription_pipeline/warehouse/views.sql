-- The warehouse views, created after schema.sql and migrate.py at every connection for writing.

-- Segment delivers at least once: one copy per messageId counts, the earliest receivedAt,
-- then the first by file path and line (SPEC 2.2).
CREATE OR REPLACE VIEW message_winners AS
SELECT message_id, source_file, line_number
FROM log_messages
QUALIFY row_number() OVER (
    PARTITION BY message_id ORDER BY received_at NULLS LAST, source_file, line_number
) = 1;

-- The observations the resolution replays: duplicate copies of a message left out.
CREATE OR REPLACE VIEW effective_observations AS
SELECT o.*
FROM observations o
WHERE o.source_kind NOT IN ('event', 'keyword')
UNION ALL
SELECT o.*
FROM observations o
SEMI JOIN message_winners w
    ON w.source_file = o.source_file AND w.line_number = o.row_number
WHERE o.source_kind IN ('event', 'keyword');

-- Every status-bearing observation (and every cascaded group change) in replay order, with its
-- record's proof of consent (SPEC 4); a cascaded step shows the record that cascaded.
CREATE OR REPLACE VIEW subscription_history AS
SELECT s.*, e.evidence
FROM history_steps s
LEFT JOIN record_evidence e ON e.source_file = s.source_file AND e.row_number = s.row_number;
