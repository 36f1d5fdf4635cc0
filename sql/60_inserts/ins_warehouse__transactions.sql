-- ins_warehouse__transactions: purchase items into the warehouse (revenue in USD).
INSERT INTO snk_warehouse__transactions
SELECT transaction_id, event_id, customer_id, product_id, quantity, revenue_usd,
    CAST(event_time AS TIMESTAMP(3)), CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3))
FROM int_events__purchase_items
