-- ins_warehouse__funnel_hourly: the conversion funnel into the warehouse landing table.
INSERT INTO snk_warehouse__funnel_hourly
SELECT
    CAST(window_start AS TIMESTAMP(3)),
    CAST(window_end AS TIMESTAMP(3)),
    page_views,
    add_to_cart,
    purchases,
    conversion_rate,
    CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3)) AS loaded_at
FROM agg_funnel_hourly
