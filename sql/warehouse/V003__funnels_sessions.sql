-- Warehouse model for funnels and sessions; runs unchanged on PostgreSQL and Amazon Redshift.
-- Same pattern as V001: the job appends to *_log tables, the views keep the newest delivery,
-- so a window or session re-delivered after a failure replaces its row instead of adding one.

CREATE TABLE IF NOT EXISTS funnel_minute_log (
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    page_views BIGINT NOT NULL,
    add_to_cart BIGINT NOT NULL,
    purchases BIGINT NOT NULL,
    conversion_rate DECIMAL(10, 2),
    loaded_at TIMESTAMP NOT NULL
)
-- redshift: DISTSTYLE ALL SORTKEY (window_start)
;

CREATE OR REPLACE VIEW funnel_minute AS
SELECT window_start, window_end, page_views, add_to_cart, purchases, conversion_rate
FROM (
    SELECT
        *,
        ROW_NUMBER() OVER (PARTITION BY window_start ORDER BY loaded_at DESC) AS delivery_rank
    FROM funnel_minute_log
) AS deliveries
WHERE delivery_rank = 1;

-- The job delivers the hour so far every minute (CUMULATE): the latest window_end is the hour.
CREATE TABLE IF NOT EXISTS funnel_hourly_log (
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    page_views BIGINT NOT NULL,
    add_to_cart BIGINT NOT NULL,
    purchases BIGINT NOT NULL,
    conversion_rate DECIMAL(10, 2),
    loaded_at TIMESTAMP NOT NULL
)
-- redshift: DISTSTYLE ALL SORTKEY (window_start)
;

CREATE OR REPLACE VIEW funnel_hourly AS
SELECT window_start, window_end AS updated_to, page_views, add_to_cart, purchases,
    conversion_rate
FROM (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY window_start ORDER BY window_end DESC, loaded_at DESC
        ) AS delivery_rank
    FROM funnel_hourly_log
) AS deliveries
WHERE delivery_rank = 1;

CREATE TABLE IF NOT EXISTS sessions_log (
    session_id VARCHAR(32) NOT NULL,
    user_id VARCHAR(256) NOT NULL,
    session_start TIMESTAMP NOT NULL,
    session_end TIMESTAMP NOT NULL,
    duration_seconds INTEGER NOT NULL,
    client_session_id VARCHAR(256),
    events BIGINT NOT NULL,
    page_views BIGINT NOT NULL,
    product_views BIGINT NOT NULL,
    add_to_cart BIGINT NOT NULL,
    remove_from_cart BIGINT NOT NULL,
    purchases BIGINT NOT NULL,
    pages_viewed BIGINT NOT NULL,
    entry_page VARCHAR(2048),
    exit_page VARCHAR(2048),
    device_class VARCHAR(32),
    country VARCHAR(8),
    revenue_usd DECIMAL(18, 2) NOT NULL,
    converted BOOLEAN NOT NULL,
    loaded_at TIMESTAMP NOT NULL
)
-- (large, joined by user: rows of a user on one slice, read by time range)
-- redshift: DISTKEY (user_id) SORTKEY (session_start)
;

CREATE OR REPLACE VIEW sessions AS
SELECT session_id, user_id, session_start, session_end, duration_seconds, client_session_id,
    events, page_views, product_views, add_to_cart, remove_from_cart, purchases, pages_viewed,
    entry_page, exit_page, device_class, country, revenue_usd, converted
FROM (
    SELECT
        *,
        ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY loaded_at DESC) AS delivery_rank
    FROM sessions_log
) AS deliveries
WHERE delivery_rank = 1;

-- Drop-offs: a cart with no purchase within Sessions cart.abandon.minutes of its last change.
CREATE TABLE IF NOT EXISTS cart_abandoned_log (
    user_id VARCHAR(256) NOT NULL,
    cart_value_usd DECIMAL(18, 2) NOT NULL,
    items INTEGER NOT NULL,
    first_added_at TIMESTAMP NOT NULL,
    last_change_at TIMESTAMP NOT NULL,
    abandoned_at TIMESTAMP NOT NULL,
    loaded_at TIMESTAMP NOT NULL
)
-- (joined by user with sessions, read by time range)
-- redshift: DISTKEY (user_id) SORTKEY (abandoned_at)
;

CREATE OR REPLACE VIEW cart_abandoned AS
SELECT user_id, cart_value_usd, items, first_added_at, last_change_at, abandoned_at
FROM (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY user_id, abandoned_at ORDER BY loaded_at DESC
        ) AS delivery_rank
    FROM cart_abandoned_log
) AS deliveries
WHERE delivery_rank = 1;

-- Ordered funnels (flink_jobs/conf/funnels.json): sessions reaching each step, per hour of
-- session close, by device class and country (NULL: unknown).
CREATE TABLE IF NOT EXISTS funnel_steps_hourly_log (
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    funnel VARCHAR(128) NOT NULL,
    step_index INTEGER NOT NULL,
    step VARCHAR(64) NOT NULL,
    device_class VARCHAR(32),
    country VARCHAR(8),
    sessions BIGINT NOT NULL,
    loaded_at TIMESTAMP NOT NULL
)
-- redshift: DISTSTYLE ALL SORTKEY (window_start)
;

CREATE OR REPLACE VIEW funnel_steps_hourly AS
SELECT window_start, window_end, funnel, step_index, step, device_class, country, sessions
FROM (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY window_start, funnel, step_index, device_class, country
            ORDER BY loaded_at DESC
        ) AS delivery_rank
    FROM funnel_steps_hourly_log
) AS deliveries
WHERE delivery_rank = 1;
