-- ins_warehouse__sessions: closed sessions into the warehouse landing table.
INSERT INTO snk_warehouse__sessions
SELECT *, CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3)) AS loaded_at
FROM agg_sessions
