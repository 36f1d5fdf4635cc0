-- ins_warehouse__trending_products: trending products, per minute, into the warehouse.
INSERT INTO snk_warehouse__trending_products
SELECT CAST(window_start AS TIMESTAMP(3)), product_id, CAST(product_views AS BIGINT),
    baseline_views, growth, CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3))
FROM agg_trending_products
