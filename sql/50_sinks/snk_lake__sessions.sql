-- snk_lake__sessions: the lake's `sessions` table, one row per closed session
-- (snk_row__sessions), partitioned by the hour the session started (UTC).
CREATE TABLE snk_lake__sessions WITH (
${LAKE_SESSIONS_OPTIONS}
) LIKE snk_row__sessions (EXCLUDING ALL)
