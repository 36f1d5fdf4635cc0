-- Warehouse model for real-time product metrics; PostgreSQL and Amazon Redshift alike.
CREATE TABLE IF NOT EXISTS top_products_minute_log (
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    ranking VARCHAR(16) NOT NULL,
    product_rank BIGINT NOT NULL,
    product_id VARCHAR(256) NOT NULL,
    product_views BIGINT NOT NULL,
    units_sold BIGINT NOT NULL,
    revenue_usd DECIMAL(18, 2) NOT NULL,
    loaded_at TIMESTAMP NOT NULL
)
-- redshift: DISTSTYLE ALL SORTKEY (window_start)
;

CREATE OR REPLACE VIEW top_products_minute AS
SELECT window_start, window_end, ranking, product_rank, product_id, product_views, units_sold, revenue_usd
FROM (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY window_start, ranking, product_rank ORDER BY loaded_at DESC
        ) AS delivery_rank
    FROM top_products_minute_log
) AS deliveries
WHERE delivery_rank = 1;

CREATE TABLE IF NOT EXISTS trending_products_log (
    window_start TIMESTAMP NOT NULL,
    product_id VARCHAR(256) NOT NULL,
    product_views BIGINT NOT NULL,
    baseline_views DOUBLE PRECISION NOT NULL,
    growth DOUBLE PRECISION NOT NULL,
    loaded_at TIMESTAMP NOT NULL
)
-- redshift: DISTSTYLE ALL SORTKEY (window_start)
;

CREATE OR REPLACE VIEW trending_products AS
SELECT window_start, product_id, product_views, baseline_views, growth
FROM (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY window_start, product_id ORDER BY loaded_at DESC
        ) AS delivery_rank
    FROM trending_products_log
) AS deliveries
WHERE delivery_rank = 1;
