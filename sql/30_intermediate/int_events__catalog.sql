-- int_events__catalog: the product's name, category, brand and current price from the catalog
-- version valid at the event's time (switch: CleanStream enrich.catalog).
-- grain: one row per unique event; upstream: int_events__fx, ref_catalog__products
-- Columns stay NULL for events without a product or whose product the catalog does not know yet.
CREATE TEMPORARY VIEW int_events__catalog AS
SELECT
    e.*,
    p.product_name AS catalog_product_name,
    p.category AS catalog_category,
    p.brand AS catalog_brand,
    p.price AS catalog_price,
    p.currency AS catalog_currency
FROM int_events__fx AS e
LEFT JOIN ref_catalog__products FOR SYSTEM_TIME AS OF e.event_time AS p
    ON e.product_id = p.product_id
