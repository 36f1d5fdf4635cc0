-- int_stream__late_events: valid events older than the watermark they met (bounded
-- out-of-orderness, Job watermark.delay.seconds). Kept in the lake, counted, never windowed.
-- grain: one row per late record
-- upstream: int_stream__records (outcome = 'late'); event time: accounting_time
CREATE TEMPORARY VIEW int_stream__late_events AS
SELECT
    event_id,
    event_type,
    event_time,
    arrival_watermark,
    COALESCE(user_id, customer_id) AS user_id,
    payload,
    received_at,
    accounting_time
FROM int_stream__records
WHERE outcome = 'late'
