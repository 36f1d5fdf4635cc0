-- stg_stream__records: every stream record, parsed once and checked against the event contract.
-- grain: one row per stream record
-- event time: event_time (rowtime of src_stream__raw_events; epoch 0 when unusable)
-- upstream: src_stream__raw_events; read by stg_stream__classified
-- `parsed` is NULL when the payload is not a JSON object (see fn_parse_event); `verdict_*` are the
-- contract's (see fn_check_event). arrival_watermark is the watermark the record met: a record
-- older than it is late. The payload continues as valid UTF-8 (utf8_text); a record that was not
-- is a not_json dead letter (utf8_problem says where). private_payload is the payload with personal fields pseudonymised
-- (Privacy group; `pseudonymise` is registered by the job with the key, which never appears in
-- SQL): every output but the dead letter reads it. NULL when the payload is not a JSON object.
CREATE TEMPORARY VIEW stg_stream__records AS
SELECT
    r.payload,
    r.utf8_problem,
    r.private_payload,
    r.event_time,
    parse_event(COALESCE(r.private_payload, r.payload)) AS parsed,
    v.reason AS verdict_reason,
    v.field AS verdict_field,
    v.detail AS verdict_detail,
    v.event_id AS verdict_event_id,
    r.arrival_watermark,
    r.received_at
FROM (
    -- Read the watermark before the Python step: a Python operator holds watermarks back until
    -- its bundle ends, so records after a watermark would otherwise still meet the older one.
    SELECT
        utf8_text(payload) AS payload,
        utf8_problem(payload) AS utf8_problem,
        CASE WHEN ${PSEUDONYMISE} THEN pseudonymise(payload, '${PRIVACY_SPEC}') ELSE payload END
            AS private_payload,
        event_time,
        CURRENT_WATERMARK(event_time) AS arrival_watermark,
        CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3)) AS received_at
    FROM src_stream__raw_events
) AS r,
    LATERAL TABLE(check_event(r.payload, ${MAX_PAYLOAD_BYTES}, ${MAX_FUTURE_SECONDS}))
        AS v(reason, field, detail, event_id)
