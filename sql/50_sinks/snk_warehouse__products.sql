-- snk_warehouse__products: the warehouse's append-only `products_log` (every catalog record);
-- the view `products` keeps each product's newest version.
CREATE TABLE snk_warehouse__products (
    product_id STRING,
    product_name STRING,
    category STRING,
    brand STRING,
    price DECIMAL(18, 2),
    currency STRING,
    updated_at TIMESTAMP(3),
    loaded_at TIMESTAMP(3)
) WITH (
${WAREHOUSE_PRODUCTS_OPTIONS}
)
