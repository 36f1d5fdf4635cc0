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
    -- TRY_CAST through DOUBLE: an integral quantity may be written 2.0 or 1e7 (valid JSON
    -- Schema integers): a CAST that fails would fail the job.
    COALESCE(TRY_CAST(TRY_CAST(JSON_VALUE(i.item, '$.quantity') AS DOUBLE) AS INT), 1)
        AS quantity,
    CAST(TRY_CAST(COALESCE(JSON_VALUE(i.item, '$.unit_price'), JSON_VALUE(i.item, '$.price'))
            AS DECIMAL(18, 2))
        * COALESCE(TRY_CAST(TRY_CAST(JSON_VALUE(i.item, '$.quantity') AS DOUBLE) AS INT), 1)
        * COALESCE(e.fx_rate_to_usd, 1) AS DECIMAL(18, 2)) AS revenue_usd,
    e.event_time
FROM int_events__clean AS e
CROSS JOIN UNNEST(JSON_QUERY(e.items_json, '$[*]' RETURNING ARRAY<STRING>)) AS i(item)
WHERE e.event_type = 'purchase'
