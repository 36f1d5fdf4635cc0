-- ins_warehouse__products: catalog records (product versions) into the warehouse.
INSERT INTO snk_warehouse__products
SELECT product_id, product_name, category, brand, price, currency,
    CAST(event_time AS TIMESTAMP(3)), CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3))
FROM int_events__clean
WHERE event_type = 'product'
