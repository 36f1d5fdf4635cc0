-- agg_dead_letter_counts_minute: dead letters per reason per minute.
-- grain: one row per (window_start, reason) with at least one dead letter
-- window: TUMBLE 1 minute on accounting_time (see agg_pipeline_health)
-- upstream: int_stream__outcomes
CREATE TEMPORARY VIEW agg_dead_letter_counts_minute AS
SELECT
    window_start,
    window_end,
    reason,
    COUNT(*) AS dead_letter_count
FROM TABLE(
    TUMBLE(TABLE int_stream__outcomes, DESCRIPTOR(accounting_time), INTERVAL '1' MINUTE)
)
WHERE stage = 'dead_letter'
GROUP BY window_start, window_end, reason
