-- Tables of the reconciliation report. Idempotent: applied before every write of the report.

-- Contacts per (channel, group, status, locked) after each run: the counts over time.
CREATE TABLE IF NOT EXISTS state_snapshots (
    run_at TIMESTAMP NOT NULL,             -- UTC
    channel VARCHAR NOT NULL,
    subscription_group VARCHAR,            -- NULL = channel level
    status VARCHAR,                        -- NULL = no status
    locked BOOLEAN NOT NULL,
    contacts BIGINT NOT NULL
);

-- The exact changes of each run: one row per state row whose status or lock changed.
-- status_before/locked_before NULL = the row did not exist; status_after NULL and
-- locked_after NULL = the row disappeared.
CREATE TABLE IF NOT EXISTS state_transitions (
    run_at TIMESTAMP NOT NULL,
    channel VARCHAR NOT NULL,
    contact VARCHAR NOT NULL,
    subscription_group VARCHAR,
    status_before VARCHAR,
    status_after VARCHAR,
    locked_before BOOLEAN,
    locked_after BOOLEAN
);

-- The state of the vectors about to be re-resolved, captured before the resolution runs.
CREATE TABLE IF NOT EXISTS state_before_vectors (
    channel VARCHAR NOT NULL,
    contact VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS state_before (
    channel VARCHAR NOT NULL,
    contact VARCHAR NOT NULL,
    subscription_group VARCHAR,
    status VARCHAR,
    locked BOOLEAN
);
-- One row: whether the capture covers every vector (a full rebuild) or only the dirty ones.
CREATE TABLE IF NOT EXISTS state_before_scope (
    full_rebuild BOOLEAN NOT NULL,
    captured_at TIMESTAMP NOT NULL
);
