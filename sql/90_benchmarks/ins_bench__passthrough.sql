-- ins_bench__passthrough: the pass-through every figure is compared with: read each record and
-- its event time (source and watermark included), parse nothing else, discard.
INSERT INTO snk_bench__passthrough
SELECT payload, event_time
FROM src_bench__raw_events
