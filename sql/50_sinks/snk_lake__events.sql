-- snk_lake__events: the lake's `events` table: the clean, enriched stream. An Iceberg table
-- partitioned by the hour of event_time (UTC; hidden partitioning, created by the job:
-- dev.ecomflow.lake.LakeTables); each checkpoint commits one snapshot: exactly once.
CREATE TABLE snk_lake__events (
    event_id STRING,
    event_type STRING,
    event_time TIMESTAMP(3),
    user_id STRING,
    customer_id STRING,
    session_id STRING,
    page_url STRING,
    referrer STRING,
    user_agent STRING,
    device_type STRING,
    product_id STRING,
    product_name STRING,
    category STRING,
    price DECIMAL(18, 2),
    quantity INT,
    transaction_id STRING,
    total_amount DECIMAL(18, 2),
    currency STRING,
    payment_method STRING,
    shipping_country STRING,
    items_json STRING,
    -- enrichment (NULL when its step is switched off)
    device_class STRING,
    browser STRING,
    os STRING,
    country STRING,
    fx_rate_to_usd DECIMAL(18, 8),
    price_usd DECIMAL(18, 2),
    total_amount_usd DECIMAL(18, 2),
    catalog_product_name STRING,
    catalog_category STRING,
    catalog_brand STRING,
    catalog_price DECIMAL(18, 2),
    catalog_currency STRING,
    payload STRING
) WITH (
${LAKE_EVENTS_OPTIONS}
)
