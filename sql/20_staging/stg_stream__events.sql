-- stg_stream__events: the design's event envelope and per-type fields.
-- grain: one row per record whose envelope parses (event_type and a zoned timestamp present)
-- event time: event_time (rowtime of src_stream__raw_events)
-- upstream: stg_stream__records; the rest goes to stg_stream__unparsed_events
-- `user_id` falls back to `customer_id` (the design's transactions carry only the latter).
CREATE TEMPORARY VIEW stg_stream__events AS
SELECT
    -- envelope
    r.parsed.event_id AS event_id,
    r.parsed.event_type AS event_type,
    r.event_time,
    COALESCE(r.parsed.user_id, r.parsed.customer_id) AS user_id,
    r.parsed.customer_id AS customer_id,
    r.parsed.session_id AS session_id,
    -- page and device
    r.parsed.page_url AS page_url,
    r.parsed.referrer AS referrer,
    r.parsed.user_agent AS user_agent,
    r.parsed.device_type AS device_type,
    -- product and cart
    r.parsed.product_id AS product_id,
    r.parsed.category AS category,
    CAST(r.parsed.price AS DECIMAL(18, 2)) AS price,
    r.parsed.quantity AS quantity,
    -- transaction
    r.parsed.transaction_id AS transaction_id,
    CAST(r.parsed.total_amount AS DECIMAL(18, 2)) AS total_amount,
    r.parsed.currency AS currency,
    r.parsed.payment_method AS payment_method,
    r.parsed.shipping_country AS shipping_country,
    r.parsed.items_json AS items_json,
    -- the record as sent, so the lake loses nothing the envelope does not name
    r.payload
FROM stg_stream__records AS r
WHERE
    r.event_time > TO_TIMESTAMP_LTZ(0, 3)
    AND r.parsed.event_type IS NOT NULL
