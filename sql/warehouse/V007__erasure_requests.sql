-- Erasure requests (`ecomflow forget`, README "Privacy"); PostgreSQL and Amazon Redshift alike.
-- Only the user's keyed hash is ever stored here, never the raw id. Written by the command, not
-- by the job. Idempotent: applied by `ecomflow local up` and on every deploy.

-- One row per user asked to be forgotten: request_id is derived from the hash, so asking twice
-- finds the first request instead of adding a second.
CREATE TABLE IF NOT EXISTS erasure_requests (
    request_id VARCHAR(64) NOT NULL,
    user_hash VARCHAR(64) NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    -- the stream drops the user's later events until then; NULL: it does not drop them
    expires_at TIMESTAMP,
    -- pending: lake partitions left to rewrite; done: none left
    status VARCHAR(16) NOT NULL,
    -- when the control event went onto the stream (NULL: not yet, the next run sends it)
    event_sent_at TIMESTAMP,
    completed_at TIMESTAMP
)
-- (a few rows, read whole)
-- redshift: DISTSTYLE ALL SORTKEY (requested_at)
;

-- The request log the lake rewrite works through: every lake partition that may hold the
-- user's rows (found from the warehouse before its rows were deleted), with its progress.
-- A partition is done once done_at is set; counts grow file by file, so a resumed rewrite
-- adds to them.
CREATE TABLE IF NOT EXISTS erasure_partitions (
    request_id VARCHAR(64) NOT NULL,
    dataset VARCHAR(32) NOT NULL,
    partition_path VARCHAR(256) NOT NULL,
    rows_removed BIGINT NOT NULL,
    files_rewritten INTEGER NOT NULL,
    files_deleted INTEGER NOT NULL,
    done_at TIMESTAMP
)
-- (small, read per request)
-- redshift: DISTSTYLE ALL SORTKEY (request_id)
;

-- What each run removed from the warehouse, per table (the audit trail of a request).
CREATE TABLE IF NOT EXISTS erasure_deletions (
    request_id VARCHAR(64) NOT NULL,
    table_name VARCHAR(128) NOT NULL,
    rows_removed BIGINT NOT NULL,
    deleted_at TIMESTAMP NOT NULL
)
-- redshift: DISTSTYLE ALL SORTKEY (deleted_at)
;
