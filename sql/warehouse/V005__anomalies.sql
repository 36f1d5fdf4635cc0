-- Warehouse model for anomaly flags; PostgreSQL and Amazon Redshift alike.
CREATE TABLE IF NOT EXISTS anomalies_log (
    window_start TIMESTAMP NOT NULL,
    kind VARCHAR(32) NOT NULL,
    kpi VARCHAR(64) NOT NULL,
    segment VARCHAR(300) NOT NULL,
    observed DOUBLE PRECISION NOT NULL,
    expected DOUBLE PRECISION NOT NULL,
    band_low DOUBLE PRECISION NOT NULL,
    band_high DOUBLE PRECISION NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    direction VARCHAR(8) NOT NULL,
    explanation VARCHAR(1000) NOT NULL,
    loaded_at TIMESTAMP NOT NULL
)
-- (few rows, read by time range)
-- redshift: DISTSTYLE ALL SORTKEY (window_start)
;

CREATE OR REPLACE VIEW anomalies AS
SELECT window_start, kind, kpi, segment, observed, expected, band_low, band_high, score,
    direction, explanation
FROM (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY window_start, kind, kpi, segment ORDER BY loaded_at DESC
        ) AS delivery_rank
    FROM anomalies_log
) AS deliveries
WHERE delivery_rank = 1;
