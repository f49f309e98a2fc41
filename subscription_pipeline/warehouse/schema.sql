-- The warehouse tables. Every statement is idempotent: it runs at every connection for writing,
-- followed by migrate.py (older warehouses) and views.sql.

-- Upload times decided once (file-name prefix or first-seen mtime) and never changed again,
-- so that every later rebuild replays a CSV upload at the same moment (SPEC 2.1).
CREATE TABLE IF NOT EXISTS upload_times (
    file_name VARCHAR PRIMARY KEY,
    uploaded_at TIMESTAMP NOT NULL,        -- UTC
    origin VARCHAR NOT NULL,               -- 'file_name' | 'mtime'
    registered_at TIMESTAMP NOT NULL
);

-- One row per input file (CSV upload, event-log file, API inbox day), with its accounting:
-- rows_in = applied + ignored + duplicate + rejected + suppressed.
CREATE TABLE IF NOT EXISTS input_ledger (
    source_file VARCHAR PRIMARY KEY,       -- path relative to the data directory
    source_kind VARCHAR NOT NULL,          -- 'csv' | 'event_log' | 'api'
    partition_key VARCHAR NOT NULL,        -- upload file name, or received day 'YYYY-MM-DD'
    status VARCHAR NOT NULL,               -- 'ingested' | 'rejected'
    uploaded_at TIMESTAMP,                 -- CSV uploads only
    content_sha256 VARCHAR,
    size_bytes BIGINT,
    rows_in BIGINT NOT NULL,               -- CSV data rows (header excluded) or log lines
    applied BIGINT NOT NULL,
    ignored BIGINT NOT NULL,
    duplicate BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    warnings BIGINT NOT NULL DEFAULT 0,
    error_code VARCHAR,                    -- file-level error, when status = 'rejected'
    error_message VARCHAR,
    ingested_at TIMESTAMP NOT NULL,
    suppressed BIGINT NOT NULL DEFAULT 0   -- rows of erased contacts, left out (SPEC 3)
);

-- Every accepted input as one observation per contact vector (and per email group).
CREATE TABLE IF NOT EXISTS observations (
    source_kind VARCHAR NOT NULL,          -- 'csv' | 'event' | 'keyword' | 'api'
    partition_key VARCHAR NOT NULL,        -- the partition that wrote it (delete + insert)
    source_file VARCHAR NOT NULL,          -- relative to the data directory
    row_number BIGINT,                     -- CSV: 1-based data row; logs: 1-based line
    message_id VARCHAR,                    -- events and keywords
    source VARCHAR NOT NULL,               -- replay order item 4: file name / messageId / request id
    channel VARCHAR NOT NULL,
    contact VARCHAR NOT NULL,
    subscription_group VARCHAR,            -- NULL = the channel itself
    status VARCHAR,                        -- NULL = blank: registers, changes nothing
    effective_at TIMESTAMP NOT NULL,       -- UTC
    received_at TIMESTAMP,                 -- events: Segment's receivedAt, for de-duplication
    user_id VARCHAR,
    anonymous_id VARCHAR
);

-- The proof of consent of every accepted input record (CSV row, log line, inbox entry), once
-- per record however many observations it gave: JSON, never read by the resolution. The
-- subscription_history view joins it to each step by (source_file, row_number).
CREATE TABLE IF NOT EXISTS record_evidence (
    source_kind VARCHAR NOT NULL,          -- the ledger's: 'csv' | 'event_log' | 'api'
    partition_key VARCHAR NOT NULL,        -- the partition that wrote it (delete + insert)
    source_file VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    evidence VARCHAR
);

-- Every parsed log line's messageId, so duplicates are found across files and days (a line
-- that cannot matter is not parsed: see ingest/event_logs.py).
CREATE TABLE IF NOT EXISTS log_messages (
    partition_key VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    line_number BIGINT NOT NULL,
    message_id VARCHAR NOT NULL,
    received_at TIMESTAMP,
    outcome VARCHAR NOT NULL               -- 'applied' | 'ignored' | 'rejected' before de-duplication
);

-- Every rejected row, line, entry or file (SPEC 4).
CREATE TABLE IF NOT EXISTS rejections (
    source_kind VARCHAR NOT NULL,
    partition_key VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    row_number BIGINT,                     -- NULL for a whole file
    error_code VARCHAR NOT NULL,
    error_message VARCHAR NOT NULL,
    raw_record VARCHAR
);

-- Repaired defects: the record was applied, the repair is on record.
CREATE TABLE IF NOT EXISTS ingest_warnings (
    source_kind VARCHAR NOT NULL,
    partition_key VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    row_number BIGINT,
    warning_code VARCHAR NOT NULL,
    warning_message VARCHAR NOT NULL
);

-- Each distinct raw identifier is parsed once, ever (email-validator and phonenumbers are slow).
-- One row per (kind, region, raw), kept so by normalize.fill_normalization_cache (it inserts only
-- values the table lacks, under the single writer) rather than by a PRIMARY KEY: DuckDB keeps
-- an index in memory, unspillable, and at 50M events (~25M spellings) it alone outgrew the
-- memory limit. The earlier table with that key was a cache too: it is dropped, and refilled.
DROP TABLE IF EXISTS normalization_cache;
CREATE TABLE IF NOT EXISTS normalized_identifiers (
    kind VARCHAR NOT NULL,                 -- 'email' | 'phone'
    region VARCHAR NOT NULL,               -- default phone region ('' for email)
    raw VARCHAR NOT NULL,
    normalized VARCHAR,                    -- NULL when invalid
    error_message VARCHAR
);

-- Contact vectors whose observations changed since the last resolution.
CREATE TABLE IF NOT EXISTS dirty_vectors (
    channel VARCHAR NOT NULL,
    contact VARCHAR NOT NULL
);

-- A resolution split into hash buckets (bucket = hash(channel, contact) % buckets) writes and
-- commits one bucket at a time: these are the buckets of the plan in progress not yet written.
-- Empty between runs; rows an interrupted run left are finished first by the next one.
-- `queued` is the number of dirty_vectors rows the plan expects (resolve/buckets.py).
CREATE TABLE IF NOT EXISTS resolution_buckets (
    bucket INTEGER NOT NULL,
    buckets INTEGER NOT NULL,
    rebuild BOOLEAN NOT NULL,
    queued BIGINT NOT NULL
);

-- Resolution outputs (SPEC 3 and 4), rewritten per contact vector by subscription_pipeline.resolve.
-- One row per (channel, contact, subscription_group); subscription_group NULL = the channel itself.
CREATE TABLE IF NOT EXISTS subscription_state (
    channel VARCHAR NOT NULL,
    contact VARCHAR NOT NULL,
    subscription_group VARCHAR,
    status VARCHAR,                        -- NULL = known, never given a status
    status_at TIMESTAMP,                   -- effective time of the last applied observation
    source VARCHAR,                        -- its source kind: csv | event | keyword | api | cascade
    source_ref VARCHAR,                    -- 'file:row', 'file#messageId' or the API request id
    locked BOOLEAN NOT NULL,               -- STOP-locked: only a keyword can change it
    user_id VARCHAR,
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);

-- Every status-bearing observation (and every cascaded group change) in replay order, without
-- its evidence: analysts read the subscription_history view (views.sql), which adds it.
CREATE TABLE IF NOT EXISTS history_steps (
    channel VARCHAR NOT NULL,
    contact VARCHAR NOT NULL,
    subscription_group VARCHAR,
    replay_step BIGINT NOT NULL,           -- 1-based within (channel, contact)
    effective_at TIMESTAMP NOT NULL,
    source_kind VARCHAR NOT NULL,          -- csv | event | keyword | api | cascade
    source VARCHAR,
    source_ref VARCHAR,
    source_file VARCHAR,
    row_number BIGINT,
    message_id VARCHAR,
    user_id VARCHAR,
    observed_status VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL,              -- applied | ignored | blocked
    reason VARCHAR,                        -- NULL when applied
    status_after VARCHAR,                  -- the row's channel or group state after the step
    locked_after BOOLEAN NOT NULL
);

-- What each upload's error report was written from, so a nightly run rewrites only the reports
-- whose errors changed (re-reading a large upload for nothing is the costly part).
CREATE TABLE IF NOT EXISTS error_report_fingerprints (
    file_name VARCHAR PRIMARY KEY,
    fingerprint VARCHAR NOT NULL
);

-- Erasure and suppression (docs/consent.md). Warehouses made before them gain the column.
ALTER TABLE input_ledger ADD COLUMN IF NOT EXISTS suppressed BIGINT DEFAULT 0;

-- The suppressions in force, copied from the erasure registry (data/erasure/): a keyed hash
-- (HMAC-SHA256) of the normalised contact, never the contact. Observations of a hash are left
-- out while lifted_at is NULL, and up to lifted_at after a lift (only newer ones count).
CREATE TABLE IF NOT EXISTS suppressions (
    contact_hash VARCHAR NOT NULL,
    erased_at TIMESTAMP NOT NULL,
    lifted_at TIMESTAMP
);

-- Where the left-out records were (no contact): the ledger's `suppressed` and the error
-- reports' SUPPRESSED lines are read from here. Owned by its partition like the rejections.
CREATE TABLE IF NOT EXISTS suppressed_records (
    source_kind VARCHAR NOT NULL,          -- the ledger's: 'csv' | 'event_log' | 'api'
    partition_key VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    row_number BIGINT,
    channel VARCHAR NOT NULL
);

-- The erasure audit, copied from the registry for analysts: when, by whom, why, the hash.
CREATE TABLE IF NOT EXISTS erasure_audit (
    seq BIGINT NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    action VARCHAR NOT NULL,               -- 'forget' | 'lift' | 'applied'
    contact_hash VARCHAR NOT NULL,
    requested_by VARCHAR NOT NULL,
    reason VARCHAR
);
