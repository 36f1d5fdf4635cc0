-- ins_warehouse__funnel_hourly: the conversion funnel into the warehouse landing table (the
-- mart's columns, in the sink's order, plus loaded_at).
INSERT INTO snk_warehouse__funnel_hourly
SELECT *, CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3)) AS loaded_at
FROM agg_funnel_hourly
