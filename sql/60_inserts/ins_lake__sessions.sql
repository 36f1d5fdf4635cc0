-- ins_lake__sessions: closed sessions into the lake, by the UTC day they started.
INSERT INTO snk_lake__sessions
SELECT *, DATE_FORMAT(session_start, 'yyyy-MM-dd') AS dt
FROM agg_sessions
