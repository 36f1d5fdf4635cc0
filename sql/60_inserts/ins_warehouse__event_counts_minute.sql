-- ins_warehouse__event_counts_minute: per-minute counts into the warehouse landing table.
-- loaded_at orders re-deliveries of the same window (newest wins in the warehouse view).
INSERT INTO snk_warehouse__event_counts_minute
SELECT
    window_start,
    window_end,
    event_type,
    event_count,
    CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3)) AS loaded_at
FROM agg_event_counts_minute
