-- snk_bench__passthrough: a sink that drops everything, for benchmarks only (never in the job).
CREATE TABLE snk_bench__passthrough (
    payload BYTES,
    event_time TIMESTAMP_LTZ(3)
) WITH (
    'connector' = 'blackhole'
)
