-- agg_sessions: server-side sessions (the client's session_id is kept, not trusted).
-- grain: one row per session: a user's events with no gap longer than
--   Sessions gap.minutes (default 30), split at fixed UTC boundaries every
--   Sessions max.length.hours (default 24), so that no session is longer than that
-- window: SESSION on event_time, partitioned by session_key (user and length bucket); emitted
--   once the watermark passes its last event plus the gap
-- upstream: int_events__clean (events with a user)
-- First and last values (entry and exit page, device, country, the client's session id) are
-- taken in event-time order as MIN/MAX over "time|value" strings: FIRST_VALUE cannot merge
-- session windows, MIN and MAX can. session_id is stable: MD5 of user and start. The columns
-- are the sinks' (snk_lake__sessions, snk_warehouse__sessions), in their order.
CREATE TEMPORARY VIEW agg_sessions AS
SELECT
    MD5(CONCAT(MIN(user_id), '|', CAST(MIN(event_time) AS STRING))) AS session_id,
    MIN(user_id) AS user_id,
    CAST(MIN(event_time) AS TIMESTAMP(3)) AS session_start,
    CAST(MAX(event_time) AS TIMESTAMP(3)) AS session_end,
    TIMESTAMPDIFF(SECOND, MIN(event_time), MAX(event_time)) AS duration_seconds,
    SUBSTRING(MIN(CONCAT(sort_time, '|', session_id)) FROM 25) AS client_session_id,
    COUNT(*) AS events,
    COUNT(CASE WHEN event_type = 'page_view' THEN 1 END) AS page_views,
    COUNT(CASE WHEN event_type = 'product_view' THEN 1 END) AS product_views,
    COUNT(CASE WHEN event_type = 'add_to_cart' THEN 1 END) AS add_to_cart,
    COUNT(CASE WHEN event_type = 'remove_from_cart' THEN 1 END) AS remove_from_cart,
    COUNT(CASE WHEN event_type = 'purchase' THEN 1 END) AS purchases,
    COUNT(CASE WHEN event_type = 'page_view' AND page_url IS NOT NULL THEN 1 END)
        AS pages_viewed,
    SUBSTRING(MIN(CONCAT(sort_time, '|', page_url)) FROM 25) AS entry_page,
    SUBSTRING(MAX(CONCAT(sort_time, '|', page_url)) FROM 25) AS exit_page,
    SUBSTRING(MIN(CONCAT(sort_time, '|', device_class)) FROM 25) AS device_class,
    SUBSTRING(MIN(CONCAT(sort_time, '|', country)) FROM 25) AS country,
    CAST(COALESCE(SUM(CASE WHEN event_type = 'purchase' THEN total_amount_usd END), 0)
        AS DECIMAL(18, 2)) AS revenue_usd,
    COUNT(CASE WHEN event_type = 'purchase' THEN 1 END) > 0 AS converted
FROM TABLE(
    SESSION(
        TABLE int_events__sessionable PARTITION BY session_key,
        DESCRIPTOR(event_time), INTERVAL '${SESSION_GAP_MINUTES}' MINUTE)
)
GROUP BY window_start, window_end, session_key
