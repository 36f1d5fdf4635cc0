-- src_stream__raw_events: every record of the event stream, exactly as sent.
-- grain: one row per stream record (Kinesis locally and on AWS, a JSONL file for bounded runs)
-- event time: none here. The clean stream's head (dev.ecomflow.stream.CleanStream, see
--   int_stream__records) reads the bytes, checks them against the event contract and gives
--   event time, and the watermark, only to records the contract accepts: a rejected record
--   with a timestamp hours ahead must not make every later record late.
-- No `json` format on purpose: it would fail the job on a bad record or drop it silently; and
-- the payload stays bytes, so a record that is not UTF-8 can be told apart (a not_json dead
-- letter) instead of being decoded leniently into something valid-looking.
-- Only the connector options differ per environment.
CREATE TABLE src_stream__raw_events (
    payload BYTES
) WITH (
${SOURCE_OPTIONS}
)
