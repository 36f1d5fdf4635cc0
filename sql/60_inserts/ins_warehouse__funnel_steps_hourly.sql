-- ins_warehouse__funnel_steps_hourly: ordered funnel steps reached, per hour and breakdown.
INSERT INTO snk_warehouse__funnel_steps_hourly
SELECT CAST(window_start AS TIMESTAMP(3)), CAST(window_end AS TIMESTAMP(3)), funnel,
    step_index, step, device_class, country, sessions, CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3))
FROM agg_funnel_steps_hourly
