-- src_bench__raw_events: the event stream as the pass-through benchmark reads it: each record
-- and its event time, with a watermark, nothing else parsed (benchmarks only).
CREATE TABLE src_bench__raw_events (
    payload BYTES,
    event_time AS COALESCE(bench_event_time_of(payload), TO_TIMESTAMP_LTZ(0, 3)),
    WATERMARK FOR event_time AS event_time - INTERVAL '30' SECOND
) WITH (
${SOURCE_OPTIONS}
)
