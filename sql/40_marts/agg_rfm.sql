-- agg_rfm: each customer's recency, frequency and monetary value, updated at every
-- purchase (the warehouse view rfm_scores keeps the newest per customer and scores them).
-- grain: one row per clean purchase with a customer
-- OVER aggregation per customer from the first purchase on: append-only, one state row per
-- customer (no TTL: a customer's history is the point)
-- upstream: int_events__clean
CREATE TEMPORARY VIEW agg_rfm AS
SELECT
    user_id AS customer_id,
    event_time AS last_purchase,
    COUNT(*) OVER w AS frequency,
    CAST(SUM(total_amount_usd) OVER w AS DECIMAL(18, 2)) AS monetary_usd
FROM int_events__clean
WHERE event_type = 'purchase' AND user_id IS NOT NULL AND total_amount_usd IS NOT NULL
WINDOW w AS (PARTITION BY user_id ORDER BY event_time ROWS BETWEEN UNBOUNDED PRECEDING
    AND CURRENT ROW)
