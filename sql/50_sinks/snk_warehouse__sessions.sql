-- snk_warehouse__sessions: the warehouse's append-only `sessions_log` (snk_row__sessions plus
-- loaded_at); the view `sessions` keeps the newest delivery per session_id
-- (sql/warehouse/V003__funnels_sessions.sql).
CREATE TABLE snk_warehouse__sessions (
    loaded_at TIMESTAMP(3)
) WITH (
${WAREHOUSE_SESSIONS_OPTIONS}
) LIKE snk_row__sessions (EXCLUDING ALL)
