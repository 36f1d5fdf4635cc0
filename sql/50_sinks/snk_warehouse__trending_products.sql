-- snk_warehouse__trending_products: the warehouse's append-only `trending_products_log`; the
-- view `trending_products` keeps the newest delivery per (window_start, product_id).
CREATE TABLE snk_warehouse__trending_products (
    window_start TIMESTAMP(3),
    product_id STRING,
    product_views BIGINT,
    baseline_views DOUBLE,
    growth DOUBLE,
    loaded_at TIMESTAMP(3)
) WITH (
${WAREHOUSE_TRENDING_PRODUCTS_OPTIONS}
)
