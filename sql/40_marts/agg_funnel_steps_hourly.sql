-- agg_funnel_steps_hourly: per hour, how many sessions reached each step of each configured
-- funnel (flink_jobs/conf/funnels.json: steps, conversion window, sequential or strict order),
-- broken down by device class and country.
-- grain: one row per (window_start, funnel, step_index, device_class, country)
-- window: TUMBLE 1 hour on the time each session closed (rowtime of the barrier's records)
-- upstream: int_funnels__session_steps (dev.ecomflow.stream.OrderedFunnels)
CREATE TEMPORARY VIEW agg_funnel_steps_hourly AS
SELECT
    window_start,
    window_end,
    funnel,
    step_index,
    step,
    device_class,
    country,
    COUNT(*) AS sessions
FROM TABLE(
    TUMBLE(TABLE int_funnels__session_steps, DESCRIPTOR(rowtime), INTERVAL '1' HOUR)
)
GROUP BY window_start, window_end, funnel, step_index, step, device_class, country
