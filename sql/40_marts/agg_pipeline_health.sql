-- agg_pipeline_health: the accounting of every record, per minute.
-- grain: one row per one-minute window with at least one record
-- window: TUMBLE 1 minute on accounting_time (the event time for on-time records, the
--   watermark met for late ones and dead letters), so every record is counted exactly once.
-- upstream: int_stream__outcomes
-- Holds in every row: records_in = valid + dead_letter + duplicates + late + forgotten + control
-- (forgotten: events of a user under an erasure request; control: the requests themselves).
CREATE TEMPORARY VIEW agg_pipeline_health AS
SELECT
    window_start,
    window_end,
    COUNT(*) AS records_in,
    SUM(CASE WHEN stage = 'on_time' THEN 1 ELSE 0 END) AS valid,
    SUM(CASE WHEN stage = 'dead_letter' THEN 1 ELSE 0 END) AS dead_letter,
    SUM(CASE WHEN stage = 'duplicate' THEN 1 ELSE 0 END) AS duplicates,
    SUM(CASE WHEN stage = 'late' THEN 1 ELSE 0 END) AS late,
    SUM(CASE WHEN stage = 'forgotten' THEN 1 ELSE 0 END) AS forgotten,
    SUM(CASE WHEN stage = 'control' THEN 1 ELSE 0 END) AS control
FROM TABLE(
    TUMBLE(TABLE int_stream__outcomes, DESCRIPTOR(accounting_time), INTERVAL '1' MINUTE)
)
GROUP BY window_start, window_end
