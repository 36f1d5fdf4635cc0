-- agg_funnel_hourly: the design's hourly conversion funnel, emitted continuously: every minute, the
-- hour so far.
-- grain: one row per (hour, minute step) with at least one clean event in the hour so far
-- window: CUMULATE on event_time, step 1 minute, size 1 hour: window_start is the hour,
--   window_end the end of the minute the row covers up to. The warehouse view funnel_hourly
--   keeps the latest window_end per hour, so it always holds the hour so far.
-- upstream: int_events__user_activity (the shop's events, no catalog records)
CREATE TEMPORARY VIEW agg_funnel_hourly AS
SELECT
    window_start,
    window_end,
    COUNT(CASE WHEN event_type = 'page_view' THEN 1 END) AS page_views,
    COUNT(CASE WHEN event_type = 'add_to_cart' THEN 1 END) AS add_to_cart,
    COUNT(CASE WHEN event_type = 'purchase' THEN 1 END) AS purchases,
    CAST(ROUND(
        COUNT(CASE WHEN event_type = 'purchase' THEN 1 END) * 100.0
        / NULLIF(COUNT(CASE WHEN event_type = 'page_view' THEN 1 END), 0), 2)
        AS DECIMAL(10, 2)) AS conversion_rate
FROM TABLE(
    CUMULATE(TABLE int_events__user_activity, DESCRIPTOR(event_time), INTERVAL '1' MINUTE,
        INTERVAL '1' HOUR)
)
GROUP BY window_start, window_end
