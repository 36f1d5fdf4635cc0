-- snk_warehouse__dead_letter_counts_minute: the warehouse's append-only
-- `dead_letter_counts_minute_log`; the view `dead_letter_counts_minute` keeps the newest
-- delivery per (window_start, reason).
CREATE TABLE snk_warehouse__dead_letter_counts_minute (
    window_start TIMESTAMP(3),
    window_end TIMESTAMP(3),
    reason STRING,
    dead_letter_count BIGINT,
    loaded_at TIMESTAMP(3)
) WITH (
${WAREHOUSE_DEAD_LETTER_COUNTS_MINUTE_OPTIONS}
)
