-- int_events__product_activity: what each product did: views, and units sold and revenue from
-- the items of purchases (amounts in USD at the purchase's rate).
-- grain: one row per product_view with a product, one per item of each purchase
-- event time: event_time; upstream: int_events__clean, int_events__purchase_items
CREATE TEMPORARY VIEW int_events__product_activity AS
SELECT
    product_id,
    1 AS product_views,
    0 AS units_sold,
    CAST(0 AS DECIMAL(18, 2)) AS revenue_usd,
    event_time
FROM int_events__clean
WHERE event_type = 'product_view' AND product_id IS NOT NULL
UNION ALL
SELECT product_id, 0 AS product_views, quantity AS units_sold, revenue_usd, event_time
FROM int_events__purchase_items
