-- snk_lake__late_events: the lake's `late_events` table: valid events that arrived behind
-- the watermark, with the watermark they met; partitioned by event hour (UTC).
CREATE TABLE snk_lake__late_events (
    event_id STRING,
    event_type STRING,
    event_time TIMESTAMP(3),
    arrival_watermark TIMESTAMP(3),
    user_id STRING,
    payload STRING,
    received_at TIMESTAMP(3)
) WITH (
${LAKE_LATE_EVENTS_OPTIONS}
)
