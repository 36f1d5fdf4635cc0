-- snk_warehouse__top_products_minute: the warehouse's append-only `top_products_minute_log`;
-- the view `top_products_minute` keeps the newest delivery per (window_start, ranking, rank).
CREATE TABLE snk_warehouse__top_products_minute (
    window_start TIMESTAMP(3),
    window_end TIMESTAMP(3),
    ranking STRING,
    product_rank BIGINT,
    product_id STRING,
    product_views BIGINT,
    units_sold BIGINT,
    revenue_usd DECIMAL(18, 2),
    loaded_at TIMESTAMP(3)
) WITH (
${WAREHOUSE_TOP_PRODUCTS_MINUTE_OPTIONS}
)
