-- ins_warehouse__dead_letter_counts_minute: per-minute dead letters by reason into the warehouse.
INSERT INTO snk_warehouse__dead_letter_counts_minute
SELECT
    CAST(window_start AS TIMESTAMP(3)),
    CAST(window_end AS TIMESTAMP(3)),
    reason,
    dead_letter_count,
    CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3)) AS loaded_at
FROM agg_dead_letter_counts_minute
