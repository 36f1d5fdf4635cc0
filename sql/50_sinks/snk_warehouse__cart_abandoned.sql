-- snk_warehouse__cart_abandoned: the warehouse's append-only `cart_abandoned_log`; the view
-- `cart_abandoned` keeps the newest delivery per (user_id, abandoned_at).
CREATE TABLE snk_warehouse__cart_abandoned (
    user_id STRING,
    cart_value_usd DECIMAL(18, 2),
    items INT,
    first_added_at TIMESTAMP(3),
    last_change_at TIMESTAMP(3),
    abandoned_at TIMESTAMP(3),
    loaded_at TIMESTAMP(3)
) WITH (
${WAREHOUSE_CART_ABANDONED_OPTIONS}
)
