-- ins_warehouse__top_products_minute: each minute's top products into the warehouse.
INSERT INTO snk_warehouse__top_products_minute
SELECT
    CAST(window_start AS TIMESTAMP(3)),
    CAST(window_end AS TIMESTAMP(3)),
    ranking,
    product_rank,
    product_id,
    CAST(product_views AS BIGINT),
    CAST(units_sold AS BIGINT),
    revenue_usd,
    CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3)) AS loaded_at
FROM agg_top_products_minute
