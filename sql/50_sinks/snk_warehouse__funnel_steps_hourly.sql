-- snk_warehouse__funnel_steps_hourly: the warehouse's append-only `funnel_steps_hourly_log`;
-- the view `funnel_steps_hourly` keeps the newest delivery per window and breakdown.
CREATE TABLE snk_warehouse__funnel_steps_hourly (
    window_start TIMESTAMP(3),
    window_end TIMESTAMP(3),
    funnel STRING,
    step_index INT,
    step STRING,
    device_class STRING,
    country STRING,
    sessions BIGINT,
    loaded_at TIMESTAMP(3)
) WITH (
${WAREHOUSE_FUNNEL_STEPS_HOURLY_OPTIONS}
)
