-- ref_catalog__products: the product catalog as a versioned table, built from the catalog
-- records (event_type 'product') of the clean stream. Load a catalog file by replaying it onto
-- the stream (or, for bounded runs, by including it in the input file).
-- grain: one row per (product_id, version); a version holds from its event time (updated_at)
--   until the product's next record
-- upstream: int_events__unique
CREATE TEMPORARY VIEW ref_catalog__products AS
SELECT product_id, product_name, category, brand, price, currency, event_time
FROM (
    SELECT
        *,
        ROW_NUMBER() OVER (PARTITION BY product_id ORDER BY event_time DESC) AS version_rank
    FROM int_events__unique
    WHERE event_type = 'product'
)
WHERE version_rank = 1
