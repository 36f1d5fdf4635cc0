-- ins_lake__events: every parsed event into the lake, partitioned by its event-time hour (UTC).
INSERT INTO snk_lake__events
SELECT
    event_id,
    event_type,
    CAST(event_time AS TIMESTAMP(3)) AS event_time,
    user_id,
    customer_id,
    session_id,
    page_url,
    referrer,
    user_agent,
    device_type,
    product_id,
    category,
    price,
    quantity,
    transaction_id,
    total_amount,
    currency,
    payment_method,
    shipping_country,
    items_json,
    payload,
    DATE_FORMAT(event_time, 'yyyy-MM-dd') AS dt,
    DATE_FORMAT(event_time, 'HH') AS hr
FROM stg_stream__events
