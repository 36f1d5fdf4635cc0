-- agg_product_metrics_minute: views, units sold and revenue per product per minute.
-- grain: one row per (window_start, product_id) with any activity
-- window: TUMBLE 1 minute on event_time; upstream: int_events__product_activity
CREATE TEMPORARY VIEW agg_product_metrics_minute AS
SELECT
    window_start,
    window_end,
    window_time,
    product_id,
    SUM(product_views) AS product_views,
    SUM(units_sold) AS units_sold,
    CAST(SUM(revenue_usd) AS DECIMAL(18, 2)) AS revenue_usd
FROM TABLE(
    TUMBLE(TABLE int_events__product_activity, DESCRIPTOR(event_time), INTERVAL '1' MINUTE)
)
WHERE product_id IS NOT NULL
GROUP BY window_start, window_end, window_time, product_id
