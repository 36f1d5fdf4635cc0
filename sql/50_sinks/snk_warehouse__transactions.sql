-- snk_warehouse__transactions: the warehouse's append-only `transactions_log` (one row per
-- purchase item); the view `transactions` keeps one delivery per (event_id, product_id).
CREATE TABLE snk_warehouse__transactions (
    transaction_id STRING,
    event_id STRING,
    customer_id STRING,
    product_id STRING,
    quantity INT,
    total_amount DECIMAL(18, 2),
    transaction_date TIMESTAMP(3),
    loaded_at TIMESTAMP(3)
) WITH (
${WAREHOUSE_TRANSACTIONS_OPTIONS}
)
