-- snk_warehouse__sessions: the warehouse's append-only `sessions_log`; the view `sessions`
-- keeps the newest delivery per session_id (sql/warehouse/V003__funnels_sessions.sql).
CREATE TABLE snk_warehouse__sessions (
    session_id STRING,
    user_id STRING,
    session_start TIMESTAMP(3),
    session_end TIMESTAMP(3),
    duration_seconds INT,
    client_session_id STRING,
    events BIGINT,
    page_views BIGINT,
    product_views BIGINT,
    add_to_cart BIGINT,
    remove_from_cart BIGINT,
    purchases BIGINT,
    pages_viewed BIGINT,
    entry_page STRING,
    exit_page STRING,
    device_class STRING,
    country STRING,
    revenue_usd DECIMAL(18, 2),
    converted BOOLEAN,
    loaded_at TIMESTAMP(3)
) WITH (
${WAREHOUSE_SESSIONS_OPTIONS}
)
