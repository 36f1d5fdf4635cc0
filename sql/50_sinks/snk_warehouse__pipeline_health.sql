-- snk_warehouse__pipeline_health: the warehouse's append-only `pipeline_health_log`; the view
-- `pipeline_health` keeps the newest delivery per window (see snk_warehouse__event_counts_minute).
CREATE TABLE snk_warehouse__pipeline_health (
    window_start TIMESTAMP(3),
    window_end TIMESTAMP(3),
    records_in BIGINT,
    valid BIGINT,
    dead_letter BIGINT,
    duplicates BIGINT,
    late BIGINT,
    loaded_at TIMESTAMP(3),
    forgotten BIGINT,
    control BIGINT
) WITH (
${WAREHOUSE_PIPELINE_HEALTH_OPTIONS}
)
