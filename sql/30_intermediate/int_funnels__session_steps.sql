-- int_funnels__session_steps: the steps of each ordered funnel (Sessions funnels.file) that a
-- server-side session reached, in the funnel's order.
-- grain: one row per (funnel, step reached, user session)
-- event time: rowtime (the session's close time, carried by the records; SOURCE_WATERMARK():
--   the operator's own watermark)
-- upstream: java_funnels__session_steps, the FUNNELS step of flink_jobs/events_job.py: the Java
--   operator dev.ecomflow.stream.OrderedFunnels over int_events__funnel_activity
CREATE TEMPORARY VIEW int_funnels__session_steps AS
SELECT
    funnel,
    step_index,
    step,
    user_id,
    session_start,
    device_class,
    country,
    rowtime
FROM java_funnels__session_steps
