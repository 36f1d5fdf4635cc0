-- int_events__sessionable: clean events that belong to a user, with the fixed UTC bucket of
-- Sessions max.length.hours that caps a session's length.
-- grain: one row per clean event with a user; upstream: int_events__clean
CREATE TEMPORARY VIEW int_events__sessionable AS
SELECT
    *,
    -- 23 characters that sort like event_time ("2025-07-16 10:00:00.500"), made once per
    -- record by the clean stream (a DATE_FORMAT here would run once per MIN/MAX reading it)
    event_time_text AS sort_time,
    -- one partition per user and length bucket: a session never spans two buckets
    CONCAT(user_id, '|', CAST(
        TIMESTAMPDIFF(HOUR, TIMESTAMP '1970-01-01 00:00:00', CAST(event_time AS TIMESTAMP(3)))
        / ${SESSION_MAX_LENGTH_HOURS} AS STRING)) AS session_key
FROM int_events__clean
WHERE user_id IS NOT NULL
