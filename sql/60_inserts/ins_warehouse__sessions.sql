-- ins_warehouse__sessions: closed sessions into the warehouse landing table.
INSERT INTO snk_warehouse__sessions
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
    CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3)) AS loaded_at
FROM agg_sessions
