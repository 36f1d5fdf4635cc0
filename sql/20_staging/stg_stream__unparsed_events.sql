-- stg_stream__unparsed_events: records whose envelope does not parse, kept with a reason.
-- grain: one row per record without a parseable event_type or zoned timestamp
-- upstream: stg_stream__records (complement of stg_stream__events' filter)
-- A first dead letter, so that nothing read from the stream vanishes.
CREATE TEMPORARY VIEW stg_stream__unparsed_events AS
SELECT
    r.payload,
    CASE
        WHEN r.parsed.event_type IS NULL THEN 'missing_event_type'
        ELSE 'bad_timestamp'
    END AS reason,
    CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3)) AS received_at
FROM stg_stream__records AS r
WHERE
    r.event_time <= TO_TIMESTAMP_LTZ(0, 3)
    OR r.parsed.event_type IS NULL
