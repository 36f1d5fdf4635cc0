-- ins_lake__late_events: late events into the lake.
INSERT INTO snk_lake__late_events
SELECT
    event_id,
    event_type,
    CAST(event_time AS TIMESTAMP(3)) AS event_time,
    CAST(arrival_watermark AS TIMESTAMP(3)) AS arrival_watermark,
    user_id,
    payload,
    received_at
FROM int_stream__late_events
