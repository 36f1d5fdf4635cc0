-- check_event(payload STRING, max_bytes INT, max_future_seconds INT)
--   -> TABLE (reason STRING, field STRING, detail STRING, event_id STRING), always one row
-- The event contract (flink_jobs/contract: one JSON Schema per type, the same rules the producer
-- SDK and the collector apply). reason is NULL for a valid record. Python (udfs/contract_check.py).
CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS check_event
AS 'udfs.contract_check.check_event' LANGUAGE PYTHON
