-- int_events__purchase_items: one row per item of each clean purchase, amounts in USD at the
-- purchase's rate. An item's price is `unit_price` (the design's) or `price` (the contract
-- requires one of them); purchase_items reads both, and an integral quantity written 2.0 or 1e7
-- (valid JSON Schema integers).
-- grain: one row per (purchase, item); event time: event_time; upstream: int_events__clean
CREATE TEMPORARY VIEW int_events__purchase_items AS
SELECT
    e.transaction_id,
    e.event_id,
    e.user_id AS customer_id,
    i.product_id,
    COALESCE(i.quantity, 1) AS quantity,
    CAST(i.unit_price * COALESCE(i.quantity, 1) * COALESCE(e.fx_rate_to_usd, 1)
        AS DECIMAL(18, 2)) AS revenue_usd,
    e.event_time
FROM int_events__clean AS e
CROSS JOIN LATERAL TABLE(purchase_items(e.items_json)) AS i
WHERE e.event_type = 'purchase'
