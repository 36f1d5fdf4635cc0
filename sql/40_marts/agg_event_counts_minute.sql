-- agg_event_counts_minute: events per event type per one-minute event-time window.
-- grain: one row per (window_start, event_type) with at least one event
-- event time: event_time; window: TUMBLE 1 minute, emitted once the watermark passes its end
-- upstream: int_events__clean
CREATE TEMPORARY VIEW agg_event_counts_minute AS
SELECT
    window_start,
    window_end,
    event_type,
    COUNT(*) AS event_count
FROM TABLE(
    TUMBLE(TABLE int_events__clean, DESCRIPTOR(event_time), INTERVAL '1' MINUTE)
)
GROUP BY window_start, window_end, event_type
