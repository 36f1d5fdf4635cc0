-- stg_stream__records: every stream record with its payload parsed once.
-- grain: one row per stream record
-- event time: event_time (rowtime of src_stream__raw_events)
-- upstream: src_stream__raw_events; read by stg_stream__events and stg_stream__unparsed_events
-- `parsed` is NULL when the payload is not a JSON object (see fn_parse_event).
CREATE TEMPORARY VIEW stg_stream__records AS
SELECT
    payload,
    event_time,
    parse_event(payload) AS parsed
FROM src_stream__raw_events
