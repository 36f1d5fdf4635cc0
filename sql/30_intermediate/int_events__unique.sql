-- int_events__unique: the clean stream's events: valid, on time, first of their event_id, not
-- erased, with the envelope, the per-type fields and what the Java steps looked up.
-- grain: one row per unique on-time event (catalog records included: event_type 'product')
-- event time: event_time (the rowtime; for on-time records, the event's own timestamp)
-- upstream: int_stream__records (outcome 'on_time'), the table the clean stream's Java head
--   builds (dev.ecomflow.stream.CleanStream): contract, pseudonymisation, watermark,
--   deduplication (before lateness), erasure, and the lookups: user agent (ua_*), catalog
--   version and FX rate as of the event's time (amounts in USD at that rate: a currency
--   without a rate at the event's time made the event a missing_fx_rate dead letter; NULL
--   with the FX step switched off)
-- `user_id` falls back to `customer_id` (the design's transactions carry only the latter);
-- `event_type` is canonical ('transaction' -> 'purchase'; a catalog record without one is a
-- 'product').
CREATE TEMPORARY VIEW int_events__unique AS
SELECT
    -- envelope
    event_id,
    CASE event_type WHEN 'transaction' THEN 'purchase'
        ELSE COALESCE(event_type, 'product') END AS event_type,
    accounting_time AS event_time,
    event_time_text,
    COALESCE(user_id, customer_id) AS user_id,
    customer_id,
    session_id,
    -- page and device
    page_url,
    referrer,
    user_agent,
    device_type,
    ua_device_class,
    ua_browser,
    ua_os,
    -- product and cart
    product_id,
    product_name,
    category,
    brand,
    price,
    quantity,
    -- transaction
    transaction_id,
    total_amount,
    currency,
    UPPER(COALESCE(currency, 'USD')) AS currency_code,
    payment_method,
    shipping_country,
    event_country,
    items_json,
    fx_rate_to_usd,
    price_usd,
    total_amount_usd,
    -- the catalog version valid at the event's time (NULL: unknown product, or switched off)
    catalog_product_name,
    catalog_category,
    catalog_brand,
    catalog_price,
    catalog_currency,
    -- the record as sent (pseudonymised), so the lake loses nothing the envelope does not name
    payload,
    received_at
FROM int_stream__records
WHERE outcome = 'on_time'
