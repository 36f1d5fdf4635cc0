-- ins_lake__sessions: closed sessions into the lake, by the UTC day they started.
INSERT INTO snk_lake__sessions
SELECT
    session_id,
    user_id,
    CAST(session_start AS TIMESTAMP(3)),
    CAST(session_end AS TIMESTAMP(3)),
    duration_seconds,
    client_session_id,
    events,
    page_views,
    product_views,
    add_to_cart,
    remove_from_cart,
    purchases,
    pages_viewed,
    entry_page,
    exit_page,
    device_class,
    country,
    revenue_usd,
    converted,
    DATE_FORMAT(session_start, 'yyyy-MM-dd') AS dt
FROM agg_sessions
