-- int_events__catalog, switched off (CleanStream enrich.catalog = false): the same columns, all NULL.
-- grain: one row per unique event; upstream: int_events__fx
CREATE TEMPORARY VIEW int_events__catalog AS
SELECT
    e.*,
    CAST(NULL AS STRING) AS catalog_product_name,
    CAST(NULL AS STRING) AS catalog_category,
    CAST(NULL AS STRING) AS catalog_brand,
    CAST(NULL AS DECIMAL(18, 2)) AS catalog_price,
    CAST(NULL AS STRING) AS catalog_currency
FROM int_events__fx AS e
