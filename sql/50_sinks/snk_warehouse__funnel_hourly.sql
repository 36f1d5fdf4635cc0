-- snk_warehouse__funnel_hourly: the warehouse's append-only `funnel_hourly_log`; the view
-- `funnel_hourly` keeps the newest delivery per window (see sql/warehouse/V003__funnels_sessions.sql).
CREATE TABLE snk_warehouse__funnel_hourly (
    window_start TIMESTAMP(3),
    window_end TIMESTAMP(3),
    page_views BIGINT,
    add_to_cart BIGINT,
    purchases BIGINT,
    conversion_rate DECIMAL(10, 2),
    loaded_at TIMESTAMP(3)
) WITH (
${WAREHOUSE_FUNNEL_HOURLY_OPTIONS}
)
