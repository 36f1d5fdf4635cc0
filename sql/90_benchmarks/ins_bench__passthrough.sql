-- ins_bench__passthrough: the foundation's pass-through, the ceiling every figure is compared
-- with: read each record and its event time (source and watermark included), parse nothing.
INSERT INTO snk_bench__passthrough
SELECT payload, event_time
FROM src_stream__raw_events
