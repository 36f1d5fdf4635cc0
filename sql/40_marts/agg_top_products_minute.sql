-- agg_top_products_minute: each minute's top products, by revenue and by views.
-- grain: one row per (window_start, ranking, rank), rank <= Sessions top.n (default 10);
--   ranking is 'revenue' or 'views'; ties are broken by product_id
-- window Top-N over agg_product_metrics_minute: append-only, emitted when the minute closes
CREATE TEMPORARY VIEW agg_top_products_minute AS
SELECT window_start, window_end, 'revenue' AS ranking, product_rank, product_id, product_views,
    units_sold, revenue_usd
FROM (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY window_start, window_end ORDER BY revenue_usd DESC, product_id
        ) AS product_rank
    FROM agg_product_metrics_minute
    WHERE revenue_usd > 0
)
WHERE product_rank <= ${TOP_N}
UNION ALL
SELECT window_start, window_end, 'views' AS ranking, product_rank, product_id, product_views,
    units_sold, revenue_usd
FROM (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY window_start, window_end ORDER BY product_views DESC, product_id
        ) AS product_rank
    FROM agg_product_metrics_minute
    WHERE product_views > 0
)
WHERE product_rank <= ${TOP_N}
