-- int_events__funnel_activity: what the ordered funnels read, in the column order
-- OrderedFunnels expects: (user_id, event_type, device_class, country), event time as rowtime.
-- grain: one row per clean event with a user; upstream: int_events__clean; read by the
--   FUNNELS barrier (events_job), giving int_funnels__session_steps
CREATE TEMPORARY VIEW int_events__funnel_activity AS
SELECT user_id, event_type, device_class, country, event_time
FROM int_events__clean
WHERE user_id IS NOT NULL
