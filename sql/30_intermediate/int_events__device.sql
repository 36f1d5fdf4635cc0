-- int_events__device: device class, browser and OS from the user agent (switch: CleanStream
-- enrich.user-agent; looked up in the JVM, see int_events__unique). The client's own
-- device_type wins when it sent one.
-- grain: one row per unique event; upstream: int_events__unique
CREATE TEMPORARY VIEW int_events__device AS
SELECT
    e.*,
    COALESCE(LOWER(e.device_type), e.ua_device_class) AS device_class,
    e.ua_browser AS browser,
    e.ua_os AS os
FROM int_events__unique AS e
