-- Warehouse model for the clean stream's accounting; runs unchanged on PostgreSQL and Amazon
-- Redshift. Timestamps are UTC. Idempotent: applied by `ecomflow local up` and on every deploy.
-- Same pattern as V001: the job appends, the views keep the newest delivery per window, so a
-- window re-delivered after a failure and replay is never counted twice.

CREATE TABLE IF NOT EXISTS pipeline_health_log (
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    records_in BIGINT NOT NULL,
    valid BIGINT NOT NULL,
    dead_letter BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    late BIGINT NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    -- events of users under an erasure request, and the requests themselves (README "Privacy")
    forgotten BIGINT NOT NULL DEFAULT 0,
    control BIGINT NOT NULL DEFAULT 0
)
-- redshift: DISTSTYLE ALL SORTKEY (window_start)
;

-- records_in = valid + dead_letter + duplicates + late + forgotten + control holds in every row.
CREATE OR REPLACE VIEW pipeline_health AS
SELECT window_start, window_end, records_in, valid, dead_letter, duplicates, late, forgotten,
    control
FROM (
    SELECT
        *,
        ROW_NUMBER() OVER (PARTITION BY window_start ORDER BY loaded_at DESC) AS delivery_rank
    FROM pipeline_health_log
) AS deliveries
WHERE delivery_rank = 1;

CREATE TABLE IF NOT EXISTS dead_letter_counts_minute_log (
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    reason VARCHAR(64) NOT NULL,
    dead_letter_count BIGINT NOT NULL,
    loaded_at TIMESTAMP NOT NULL
)
-- redshift: DISTSTYLE ALL SORTKEY (window_start)
;

CREATE OR REPLACE VIEW dead_letter_counts_minute AS
SELECT window_start, window_end, reason, dead_letter_count
FROM (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY window_start, reason ORDER BY loaded_at DESC
        ) AS delivery_rank
    FROM dead_letter_counts_minute_log
) AS deliveries
WHERE delivery_rank = 1;
