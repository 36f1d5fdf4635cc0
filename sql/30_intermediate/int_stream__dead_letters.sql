-- int_stream__dead_letters: every record rejected by the contract (or the job's own checks: an
-- unusable event time, no FX rate at the event's time).
-- grain: one row per rejected record; payload exactly as received (pseudonymised for the events
--   without an FX rate, which the contract accepted)
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
