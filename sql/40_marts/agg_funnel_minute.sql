-- agg_funnel_minute: the design's conversion funnel, per minute.
-- grain: one row per one-minute event-time window with at least one clean event
-- window: TUMBLE 1 minute on event_time; upstream: int_events__user_activity (no catalog records)
-- conversion_rate is the design's: purchases * 100 / page_views, rounded to 2 decimals, NULL
-- without page views.
CREATE TEMPORARY VIEW agg_funnel_minute AS
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
    TUMBLE(TABLE int_events__user_activity, DESCRIPTOR(event_time), INTERVAL '1' MINUTE)
)
GROUP BY window_start, window_end
