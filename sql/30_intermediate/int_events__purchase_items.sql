-- int_events__purchase_items: one row per item of each clean purchase, amounts in USD at the
-- purchase's rate. An item's price is `unit_price` (the design's) or `price` (the contract
-- requires one of them).
-- grain: one row per (purchase, item); event time: event_time; upstream: int_events__clean
CREATE TEMPORARY VIEW int_events__purchase_items AS
SELECT
    e.transaction_id,
    e.event_id,
    e.user_id AS customer_id,
    JSON_VALUE(i.item, '$.product_id') AS product_id,
    COALESCE(CAST(JSON_VALUE(i.item, '$.quantity') AS INT), 1) AS quantity,
    CAST(CAST(COALESCE(JSON_VALUE(i.item, '$.unit_price'), JSON_VALUE(i.item, '$.price'))
            AS DECIMAL(18, 2))
        * COALESCE(CAST(JSON_VALUE(i.item, '$.quantity') AS INT), 1)
        * COALESCE(e.fx_rate_to_usd, 1) AS DECIMAL(18, 2)) AS revenue_usd,
    e.event_time
FROM int_events__clean AS e
CROSS JOIN UNNEST(JSON_QUERY(e.items_json, '$[*]' RETURNING ARRAY<STRING>)) AS i(item)
WHERE e.event_type = 'purchase'
