-- snk_warehouse__funnel_hourly: the warehouse's append-only `funnel_hourly_log`; the view
-- `funnel_hourly` keeps the newest delivery per window (see sql/warehouse/V003__funnels_sessions.sql).
-- The same columns as the per-minute funnel's sink: window_start is the hour, window_end the
-- end of the minute the row covers up to.
CREATE TABLE snk_warehouse__funnel_hourly WITH (
${WAREHOUSE_FUNNEL_HOURLY_OPTIONS}
) LIKE snk_warehouse__funnel_minute (EXCLUDING ALL)
