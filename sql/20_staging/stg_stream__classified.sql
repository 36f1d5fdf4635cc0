-- stg_stream__classified: each record's outcome, decided once: dead_letter, late or on_time.
-- grain: one row per stream record
-- upstream: stg_stream__records. The job re-declares event time on this view (events_job.retime):
--   accounting_time becomes the rowtime and arrival_watermark its watermark, giving
--   int_stream__records. accounting_time is the event time for on-time records and the
--   watermark the record met otherwise, so every record, late ones included, falls into a
--   per-minute window that is still open: nothing escapes the accounting.
-- The parsed fields are flattened here (nested ROWs do not survive the barrier's round trip).
-- A record the contract accepts but whose timestamp the job cannot read is a dead letter too.
-- An `erasure_request` (ecomflow forget) is a control record: it carries wall-clock time, not
-- event time, so it has no event time and is never late. Dead letters keep the payload as
-- received; every other record continues with its pseudonymised payload.
CREATE TEMPORARY VIEW stg_stream__classified AS
SELECT
    CASE
        WHEN utf8_problem IS NOT NULL OR verdict_reason IS NOT NULL
            OR (event_time <= TO_TIMESTAMP_LTZ(0, 3)
            AND parsed.event_type IS DISTINCT FROM 'erasure_request') THEN payload
        ELSE COALESCE(private_payload, payload)
    END AS payload,
    event_time,
    COALESCE(verdict_event_id, parsed.event_id) AS event_id,
    -- the envelope and per-type fields, as parse_event read them
    parsed.event_type AS event_type,
    parsed.user_id AS user_id,
    parsed.customer_id AS customer_id,
    parsed.session_id AS session_id,
    parsed.page_url AS page_url,
    parsed.referrer AS referrer,
    parsed.user_agent AS user_agent,
    parsed.device_type AS device_type,
    parsed.product_id AS product_id,
    COALESCE(parsed.name, parsed.product_name) AS product_name,
    parsed.category AS category,
    parsed.brand AS brand,
    parsed.price AS price,
    parsed.quantity AS quantity,
    parsed.transaction_id AS transaction_id,
    parsed.total_amount AS total_amount,
    parsed.currency AS currency,
    parsed.payment_method AS payment_method,
    parsed.shipping_country AS shipping_country,
    parsed.country AS event_country,
    parsed.items_json AS items_json,
    -- the verdict
    CASE
        WHEN utf8_problem IS NOT NULL THEN 'not_json'
        WHEN verdict_reason IS NOT NULL THEN verdict_reason
        WHEN parsed.event_type = 'erasure_request' THEN NULL
        WHEN event_time <= TO_TIMESTAMP_LTZ(0, 3) THEN 'bad_timestamp'
    END AS reason,
    CASE
        WHEN utf8_problem IS NOT NULL THEN '$'
        WHEN verdict_reason IS NOT NULL THEN verdict_field
        WHEN parsed.event_type = 'erasure_request' THEN NULL
        WHEN event_time <= TO_TIMESTAMP_LTZ(0, 3) THEN 'timestamp'
    END AS field,
    COALESCE(utf8_problem, verdict_detail) AS detail,
    CASE
        WHEN utf8_problem IS NOT NULL OR verdict_reason IS NOT NULL THEN 'dead_letter'
        WHEN parsed.event_type = 'erasure_request' THEN 'control'
        WHEN event_time <= TO_TIMESTAMP_LTZ(0, 3) THEN 'dead_letter'
        WHEN event_time < arrival_watermark THEN 'late'
        ELSE 'on_time'
    END AS outcome,
    COALESCE(arrival_watermark, TO_TIMESTAMP_LTZ(0, 3)) AS arrival_watermark,
    GREATEST(event_time, COALESCE(arrival_watermark, event_time)) AS accounting_time,
    received_at
FROM stg_stream__records
