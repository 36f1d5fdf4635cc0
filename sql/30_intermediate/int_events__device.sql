-- int_events__device: device class, browser and OS from the user agent (switch:
-- CleanStream enrich.user-agent). The client's own device_type wins when it sent one.
-- grain: one row per unique event; upstream: int_events__unique
CREATE TEMPORARY VIEW int_events__device AS
SELECT
    e.*,
    COALESCE(LOWER(e.device_type), e.ua.device_class) AS device_class,
    e.ua.browser AS browser,
    e.ua.os AS os
FROM (
    SELECT
        u.*,
        CASE WHEN ${ENRICH_USER_AGENT} THEN parse_user_agent(u.user_agent) END AS ua
    FROM int_events__unique AS u
    -- erased users' events and the erasure requests themselves go no further
    WHERE u.event_type NOT IN ('forgotten', 'erasure_request')
) AS e
