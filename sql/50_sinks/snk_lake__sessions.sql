-- snk_lake__sessions: the lake's `sessions/` dataset, one row per closed session, partitioned
-- by the UTC day the session started.
CREATE TABLE snk_lake__sessions (
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
    dt STRING
) PARTITIONED BY (dt) WITH (
${LAKE_SESSIONS_OPTIONS}
)
