-- snk_bench__discard: a sink that drops everything, for benchmarks only (never in the job).
CREATE TABLE snk_bench__discard (
    payload STRING,
    event_time TIMESTAMP_LTZ(3)
) WITH (
    'connector' = 'blackhole'
)
