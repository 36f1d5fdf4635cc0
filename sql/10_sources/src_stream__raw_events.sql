-- src_stream__raw_events: every record of the event stream, payload kept exactly as sent.
-- grain: one row per stream record (Kinesis locally and on AWS, a JSONL file for bounded runs)
-- event time: event_time, from the payload's ISO 8601 `timestamp`; epoch 0 when it is missing,
--   unparseable or further in the future than the contract allows (it would drag the watermark
--   along), because a NULL rowtime fails the job. Such rows never reach a window: staging
--   sends them to the dead letter.
-- watermark: event_time - ${WATERMARK_DELAY_SECONDS} s
-- No `json` format on purpose: it would fail the job on a bad record or drop it silently.
-- Only the connector options differ per environment.
CREATE TABLE src_stream__raw_events (
    payload STRING,
    event_time AS COALESCE(event_time_of(payload, ${MAX_FUTURE_SECONDS}), TO_TIMESTAMP_LTZ(0, 3)),
    WATERMARK FOR event_time AS event_time - INTERVAL '${WATERMARK_DELAY_SECONDS}' SECOND
) WITH (
${SOURCE_OPTIONS}
)
