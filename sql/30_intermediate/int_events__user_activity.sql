-- int_events__user_activity: the shop's events without the catalog's product records, which
-- are reference data, not activity: a product record alone must not open a funnel minute or
-- hour.
-- grain: one row per clean event that is not a product record; upstream: int_events__clean;
--   read by the funnels (agg_funnel_minute, agg_funnel_hourly)
CREATE TEMPORARY VIEW int_events__user_activity AS
SELECT *
FROM int_events__clean
WHERE event_type <> 'product'
