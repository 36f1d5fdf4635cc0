-- bench_event_time_of(payload BYTES) -> TIMESTAMP_LTZ(3): the top-level `timestamp`, for the
-- pass-through benchmark only (dev.ecomflow.bench.EventTimeOf; the job reads event time in
-- its head).
CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS bench_event_time_of
AS 'dev.ecomflow.bench.EventTimeOf' LANGUAGE JAVA
