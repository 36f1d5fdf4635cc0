-- stg_stream__events: the design's event envelope and per-type fields, parsed from the payload.
-- grain: one row per record whose envelope parses (event_type and a zoned timestamp present)
-- event time: event_time (rowtime of src_stream__raw_events)
-- upstream: src_stream__raw_events; the rest goes to int_stream__unparsed_events
-- `user_id` falls back to `customer_id` (the design's transactions carry only the latter).
CREATE TEMPORARY VIEW stg_stream__events AS
SELECT
    -- envelope
    JSON_VALUE(payload, '$.event_id') AS event_id,
    JSON_VALUE(payload, '$.event_type') AS event_type,
    event_time,
    COALESCE(
        JSON_VALUE(payload, '$.user_id'), JSON_VALUE(payload, '$.customer_id')
    ) AS user_id,
    JSON_VALUE(payload, '$.customer_id') AS customer_id,
    JSON_VALUE(payload, '$.session_id') AS session_id,
    -- page and device
    JSON_VALUE(payload, '$.page_url') AS page_url,
    JSON_VALUE(payload, '$.referrer') AS referrer,
    JSON_VALUE(payload, '$.user_agent') AS user_agent,
    JSON_VALUE(payload, '$.device_type') AS device_type,
    -- product and cart
    JSON_VALUE(payload, '$.product_id') AS product_id,
    JSON_VALUE(payload, '$.category') AS category,
    CAST(JSON_VALUE(payload, '$.price' RETURNING DOUBLE) AS DECIMAL(18, 2)) AS price,
    JSON_VALUE(payload, '$.quantity' RETURNING INT) AS quantity,
    -- transaction
    JSON_VALUE(payload, '$.transaction_id') AS transaction_id,
    CAST(
        JSON_VALUE(payload, '$.total_amount' RETURNING DOUBLE) AS DECIMAL(18, 2)
    ) AS total_amount,
    JSON_VALUE(payload, '$.currency') AS currency,
    JSON_VALUE(payload, '$.payment_method') AS payment_method,
    JSON_VALUE(payload, '$.shipping_address.country') AS shipping_country,
    JSON_QUERY(payload, '$.items') AS items_json,
    -- the record as sent, so the lake loses nothing the envelope does not name
    payload
FROM src_stream__raw_events
WHERE
    event_time > TO_TIMESTAMP_LTZ(0, 3)
    AND JSON_VALUE(payload, '$.event_type') IS NOT NULL
