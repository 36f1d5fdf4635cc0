-- stg_stream__unparsed_events: records whose envelope does not parse, kept with a reason.
-- grain: one row per record without a parseable event_type or zoned timestamp
-- upstream: src_stream__raw_events (complement of stg_stream__events' filter)
-- A first dead letter, so that nothing read from the stream vanishes.
CREATE TEMPORARY VIEW stg_stream__unparsed_events AS
SELECT
    payload,
    CASE
        WHEN JSON_VALUE(payload, '$.event_type') IS NULL THEN 'missing_event_type'
        ELSE 'bad_timestamp'
    END AS reason,
    CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3)) AS received_at
FROM src_stream__raw_events
WHERE
    event_time <= TO_TIMESTAMP_LTZ(0, 3)
    OR JSON_VALUE(payload, '$.event_type') IS NULL
