-- ins_bench__passthrough: the pass-through every figure is compared with: read each record
-- from the source and discard it (no parsing, no event time).
INSERT INTO snk_bench__passthrough
SELECT payload
FROM src_stream__raw_events
