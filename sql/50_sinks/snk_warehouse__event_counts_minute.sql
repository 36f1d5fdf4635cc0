-- snk_warehouse__event_counts_minute: the warehouse's append-only `event_counts_minute_log`.
-- Replays after a failure may append a window twice; the warehouse view `event_counts_minute`
-- keeps the newest row per (window_start, event_type), so nothing is double counted. This works
-- the same on PostgreSQL and Redshift (which has no INSERT .. ON CONFLICT).
CREATE TABLE snk_warehouse__event_counts_minute (
    window_start TIMESTAMP(3),
    window_end TIMESTAMP(3),
    event_type STRING,
    event_count BIGINT,
    loaded_at TIMESTAMP(3)
) WITH (
${WAREHOUSE_EVENT_COUNTS_MINUTE_OPTIONS}
)
