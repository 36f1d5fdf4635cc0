-- ins_lake__sessions: closed sessions into the lake.
INSERT INTO snk_lake__sessions
SELECT *
FROM agg_sessions
