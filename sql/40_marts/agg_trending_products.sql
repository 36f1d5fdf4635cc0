-- agg_trending_products: products viewed far more this minute than in their own recent past.
-- grain: one row per (window_start, product_id) that trends
-- baseline: the product's views per minute over the previous Anomalies baseline.minutes
--   (minutes with activity, current one excluded; at least 5 of them)
-- trending when: views >= Anomalies trend.factor (default 3) x baseline and views >= 10
-- upstream: agg_product_metrics_minute (OVER aggregation on window_time: append-only)
CREATE TEMPORARY VIEW agg_trending_products AS
SELECT
    window_start,
    product_id,
    product_views,
    CAST(baseline_views AS DOUBLE) AS baseline_views,
    CAST(product_views / baseline_views AS DOUBLE) AS growth
FROM (
    SELECT
        window_start,
        product_id,
        product_views,
        history,
        (total - product_views) * 1.0 / history AS baseline_views
    FROM (
        SELECT
            window_start,
            product_id,
            product_views,
            COUNT(*) OVER w - 1 AS history,
            SUM(product_views) OVER w AS total
        FROM agg_product_metrics_minute
        WINDOW w AS (
            PARTITION BY product_id ORDER BY window_time
            RANGE BETWEEN INTERVAL '${ANOMALY_BASELINE_MINUTES}' MINUTE PRECEDING
                AND CURRENT ROW)
    )
    WHERE history >= 5
)
WHERE baseline_views > 0 AND product_views >= 10
    AND product_views >= ${ANOMALY_TREND_FACTOR} * baseline_views
