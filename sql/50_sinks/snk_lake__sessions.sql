-- snk_lake__sessions: the lake's `sessions/` dataset, one row per closed session
-- (snk_row__sessions), partitioned by the UTC day the session started.
CREATE TABLE snk_lake__sessions (
    dt STRING
) PARTITIONED BY (dt) WITH (
${LAKE_SESSIONS_OPTIONS}
) LIKE snk_row__sessions (EXCLUDING ALL)
