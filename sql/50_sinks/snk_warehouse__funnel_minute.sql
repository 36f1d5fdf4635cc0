-- snk_warehouse__funnel_minute: the warehouse's append-only `funnel_minute_log`; the view
-- `funnel_minute` keeps the newest delivery per window (see sql/warehouse/V003__funnels_sessions.sql).
CREATE TABLE snk_warehouse__funnel_minute (
    window_start TIMESTAMP(3),
    window_end TIMESTAMP(3),
    page_views BIGINT,
    add_to_cart BIGINT,
    purchases BIGINT,
    conversion_rate DECIMAL(10, 2),
    loaded_at TIMESTAMP(3)
) WITH (
${WAREHOUSE_FUNNEL_MINUTE_OPTIONS}
)
