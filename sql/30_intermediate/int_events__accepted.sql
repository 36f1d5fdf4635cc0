-- int_events__accepted: valid, on-time events with the envelope and per-type fields.
-- grain: one row per valid on-time record (duplicates still included)
-- event time: event_time (the rowtime; equal to the event's own timestamp for on-time records)
-- upstream: int_stream__records (outcome 'on_time', and 'control': erasure requests travel with
--   the events to the erasure step in int_events__unique, keyed by the same hashed user id)
-- `user_id` falls back to `customer_id` (the design's transactions carry only the latter);
-- `event_type` is canonical ('transaction' -> 'purchase').
CREATE TEMPORARY VIEW int_events__accepted AS
SELECT
    -- envelope
    event_id,
    CASE event_type WHEN 'transaction' THEN 'purchase'
        ELSE COALESCE(event_type, 'product') END AS event_type,
    accounting_time AS event_time,
    COALESCE(user_id, customer_id) AS user_id,
    customer_id,
    session_id,
    -- page and device
    page_url,
    referrer,
    user_agent,
    device_type,
    -- product and cart
    product_id,
    product_name,
    category,
    brand,
    CAST(price AS DECIMAL(18, 2)) AS price,
    quantity,
    -- transaction
    transaction_id,
    CAST(total_amount AS DECIMAL(18, 2)) AS total_amount,
    currency,
    payment_method,
    shipping_country,
    event_country,
    items_json,
    -- the record as sent, so the lake loses nothing the envelope does not name
    payload,
    received_at
FROM int_stream__records
WHERE outcome IN ('on_time', 'control')
