-- snk_row__sessions: the columns of a session row, declared once: the lake's and the
-- warehouse's sessions sinks are declared LIKE it, each with its own extra column and options.
-- Never written to (its connector discards); the rows come from agg_sessions, in this order.
CREATE TABLE snk_row__sessions (
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
    converted BOOLEAN
) WITH ('connector' = 'blackhole')
