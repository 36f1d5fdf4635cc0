-- int_events__categorised: clean events with a product category (the catalog's, else the one
-- the event carries), for per-category KPIs.
-- grain: one row per clean event with a category; upstream: int_events__clean
CREATE TEMPORARY VIEW int_events__categorised AS
SELECT
    COALESCE(catalog_category, category) AS category,
    event_type,
    price_usd,
    quantity,
    event_time
FROM int_events__clean
WHERE COALESCE(catalog_category, category) IS NOT NULL
