-- agg_kpis_minute: the per-minute KPIs the anomaly detector watches, one row per (minute, KPI,
-- segment): events, active users, sessions, revenue (USD), conversion rate and add-to-cart rate
-- for the whole shop (segment 'all'), events and cart value per product category
-- ('category:<name>').
-- grain: one row per (window_start, kpi, segment) with activity; volume is the minute's event
--   count in that segment (the minimum-volume guard reads it)
-- window: TUMBLE 1 minute on event_time; window_time stays the rowtime for the baselines
-- upstream: int_events__clean
CREATE TEMPORARY VIEW agg_kpis_minute AS
SELECT window_start, window_time, kpi, 'all' AS segment, kpi_value, volume
FROM (
    SELECT
        window_start,
        window_time,
        CAST(COUNT(*) AS DOUBLE) AS events,
        CAST(COUNT(DISTINCT user_id) AS DOUBLE) AS active_users,
        -- sessions active in the minute, by the client's id (server sessions close later)
        CAST(COUNT(DISTINCT session_id) AS DOUBLE) AS sessions,
        CAST(COALESCE(SUM(total_amount_usd), 0) AS DOUBLE) AS revenue_usd,
        COUNT(CASE WHEN event_type = 'purchase' THEN 1 END) * 100.0
            / NULLIF(COUNT(CASE WHEN event_type = 'page_view' THEN 1 END), 0)
            AS conversion_rate,
        COUNT(CASE WHEN event_type = 'add_to_cart' THEN 1 END) * 100.0
            / NULLIF(COUNT(CASE WHEN event_type = 'product_view' THEN 1 END), 0)
            AS add_to_cart_rate,
        COUNT(*) AS volume
    FROM TABLE(TUMBLE(TABLE int_events__clean, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
    GROUP BY window_start, window_end, window_time
)
CROSS JOIN UNNEST(ARRAY[
    ROW('events', events),
    ROW('active_users', active_users),
    ROW('sessions', sessions),
    ROW('revenue_usd', revenue_usd),
    ROW('conversion_rate', CAST(conversion_rate AS DOUBLE)),
    ROW('add_to_cart_rate', CAST(add_to_cart_rate AS DOUBLE))
]) AS k(kpi, kpi_value)
WHERE kpi_value IS NOT NULL
UNION ALL
SELECT window_start, window_time, kpi, CONCAT('category:', category) AS segment, kpi_value, volume
FROM (
    SELECT
        window_start,
        window_time,
        category,
        CAST(COUNT(*) AS DOUBLE) AS events,
        CAST(COALESCE(SUM(price_usd * COALESCE(quantity, 1)), 0) AS DOUBLE) AS cart_value_usd,
        COUNT(*) AS volume
    FROM TABLE(TUMBLE(TABLE int_events__categorised, DESCRIPTOR(event_time),
        INTERVAL '1' MINUTE))
    GROUP BY window_start, window_end, window_time, category
)
CROSS JOIN UNNEST(ARRAY[
    ROW('events', events),
    ROW('cart_value_usd', cart_value_usd)
]) AS k(kpi, kpi_value)
