-- ins_warehouse__pipeline_health: per-minute accounting into the warehouse landing table.
INSERT INTO snk_warehouse__pipeline_health
SELECT
    CAST(window_start AS TIMESTAMP(3)),
    CAST(window_end AS TIMESTAMP(3)),
    CAST(records_in AS BIGINT),
    CAST(valid AS BIGINT),
    CAST(dead_letter AS BIGINT),
    CAST(duplicates AS BIGINT),
    CAST(late AS BIGINT),
    CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3)) AS loaded_at,
    CAST(forgotten AS BIGINT),
    CAST(control AS BIGINT)
FROM agg_pipeline_health
