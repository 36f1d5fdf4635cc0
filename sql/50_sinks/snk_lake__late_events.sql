-- snk_lake__late_events: the lake's `late_events/` dataset: valid events that arrived behind
-- the watermark, with the watermark they met; partitioned by event day (UTC).
CREATE TABLE snk_lake__late_events (
    event_id STRING,
    event_type STRING,
    event_time TIMESTAMP(3),
    arrival_watermark TIMESTAMP(3),
    user_id STRING,
    payload STRING,
    received_at TIMESTAMP(3),
    dt STRING
) PARTITIONED BY (dt) WITH (
${LAKE_LATE_EVENTS_OPTIONS}
)
