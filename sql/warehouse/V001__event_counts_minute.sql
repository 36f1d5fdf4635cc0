-- Warehouse model for per-minute event counts; runs unchanged on PostgreSQL and Amazon Redshift.
-- Timestamps are UTC. Idempotent: applied by `ecomflow local up` and on every deploy.

-- Append-only landing table written by the Flink JDBC sink.
CREATE TABLE IF NOT EXISTS event_counts_minute_log (
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    event_type VARCHAR(64) NOT NULL,
    event_count BIGINT NOT NULL,
    loaded_at TIMESTAMP NOT NULL
)
-- (small per-minute aggregates: a copy on every node, read by time range)
-- redshift: DISTSTYLE ALL SORTKEY (window_start)
;

-- What analysts query: one row per (window_start, event_type). A window delivered again after a
-- failure and replay is collapsed here, so nothing is counted twice.
CREATE OR REPLACE VIEW event_counts_minute AS
SELECT window_start, window_end, event_type, event_count
FROM (
    SELECT
        window_start,
        window_end,
        event_type,
        event_count,
        ROW_NUMBER() OVER (
            PARTITION BY window_start, event_type ORDER BY loaded_at DESC
        ) AS delivery_rank
    FROM event_counts_minute_log
) AS deliveries
WHERE delivery_rank = 1;
