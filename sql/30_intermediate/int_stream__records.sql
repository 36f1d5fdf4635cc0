-- int_stream__records: every record of the stream, one row each, with its outcome and, for
-- on-time events, what the clean stream's lookups found.
-- grain: one row per record read (valid or not; duplicates, late and erased records included)
-- event time: accounting_time (the event's own time for on-time records, the watermark the
--   record met for the others; SOURCE_WATERMARK(): the Java head's watermark, moved by accepted
--   records only)
-- upstream: java_stream__records, built by the Java head (dev.ecomflow.stream.CleanStream,
--   wired in flink_jobs/events_job.py): contract check, pseudonymisation, field extraction,
--   watermark, deduplication before lateness, erasure, user-agent, catalog and FX lookups.
--   This file names its columns; the Java side fills them (Records.java).
CREATE TEMPORARY VIEW int_stream__records AS
SELECT
    -- the record: pseudonymised for valid events, as received (as UTF-8) for dead letters
    payload,
    -- envelope and per-type fields, as the contract reads them
    event_time,
    event_id,
    event_type,
    user_id,
    customer_id,
    session_id,
    page_url,
    referrer,
    user_agent,
    device_type,
    product_id,
    product_name,
    category,
    brand,
    price,
    quantity,
    transaction_id,
    total_amount,
    currency,
    payment_method,
    shipping_country,
    event_country,
    items_json,
    -- why a record is not a valid event (dead letters only)
    reason,
    field,
    detail,
    -- the outcome: dead_letter, late, duplicate, forgotten, control or on_time
    outcome,
    arrival_watermark,
    accounting_time,
    received_at,
    -- lookups (on-time events)
    ua_device_class,
    ua_browser,
    ua_os,
    catalog_product_name,
    catalog_category,
    catalog_brand,
    catalog_price,
    catalog_currency,
    fx_rate_to_usd,
    price_usd,
    total_amount_usd,
    event_time_text
FROM java_stream__records
