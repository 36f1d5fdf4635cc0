-- int_stream__dead_letters: every record rejected by the contract (or the job's time check).
-- grain: one row per rejected record; payload exactly as received
-- upstream: int_stream__records (outcome = 'dead_letter'); event time: accounting_time
CREATE TEMPORARY VIEW int_stream__dead_letters AS
SELECT
    payload,
    reason,
    field,
    detail,
    received_at,
    accounting_time
FROM int_stream__records
WHERE outcome = 'dead_letter'
