-- Warehouse model for the original design's analyses (top products, hourly funnel, RFM);
-- PostgreSQL and Amazon Redshift alike. The analyses themselves are in sql/analyses/.

CREATE TABLE IF NOT EXISTS transactions_log (
    transaction_id VARCHAR(256),
    event_id VARCHAR(256) NOT NULL,
    customer_id VARCHAR(256) NOT NULL,
    product_id VARCHAR(256) NOT NULL,
    quantity INTEGER NOT NULL,
    total_amount DECIMAL(18, 2),
    transaction_date TIMESTAMP NOT NULL,
    loaded_at TIMESTAMP NOT NULL
)
-- (the largest table: by customer, as RFM reads it; by date, as every analysis filters it)
-- redshift: DISTKEY (customer_id) SORTKEY (transaction_date)
;

-- One row per purchase item (total_amount is the item's revenue in USD).
CREATE OR REPLACE VIEW transactions AS
SELECT transaction_id, event_id, customer_id, product_id, quantity, total_amount,
    transaction_date
FROM (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY event_id, product_id ORDER BY loaded_at DESC
        ) AS delivery_rank
    FROM transactions_log
) AS deliveries
WHERE delivery_rank = 1;

CREATE TABLE IF NOT EXISTS products_log (
    product_id VARCHAR(256) NOT NULL,
    product_name VARCHAR(1000),
    category VARCHAR(256),
    brand VARCHAR(256),
    price DECIMAL(18, 2),
    currency VARCHAR(3),
    updated_at TIMESTAMP NOT NULL,
    loaded_at TIMESTAMP NOT NULL
)
-- (small, joined to everything: a copy on every node)
-- redshift: DISTSTYLE ALL SORTKEY (product_id)
;

CREATE OR REPLACE VIEW products AS
SELECT product_id, product_name, category, brand, price, currency, updated_at
FROM (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY product_id ORDER BY updated_at DESC, loaded_at DESC
        ) AS version_rank
    FROM products_log
) AS versions
WHERE version_rank = 1;

CREATE TABLE IF NOT EXISTS rfm_log (
    customer_id VARCHAR(256) NOT NULL,
    last_purchase TIMESTAMP NOT NULL,
    frequency BIGINT NOT NULL,
    monetary_usd DECIMAL(18, 2) NOT NULL,
    loaded_at TIMESTAMP NOT NULL
)
-- (one row per purchase, read per customer)
-- redshift: DISTKEY (customer_id) SORTKEY (last_purchase)
;

-- Each customer's newest recency/frequency/monetary values (kept up to date by the job), with
-- the design's quintile scores and segments. Ties are broken by customer_id so that the
-- scores are the same on every run.
CREATE OR REPLACE VIEW rfm_scores AS
WITH customer_metrics AS (
    SELECT customer_id, last_purchase, frequency, monetary_usd AS monetary
    FROM (
        SELECT
            *,
            ROW_NUMBER() OVER (
                PARTITION BY customer_id ORDER BY frequency DESC, loaded_at DESC
            ) AS update_rank
        FROM rfm_log
    ) AS updates
    WHERE update_rank = 1
),
scored AS (
    SELECT
        customer_id,
        last_purchase,
        frequency,
        monetary,
        NTILE(5) OVER (ORDER BY last_purchase DESC, customer_id) AS recency_score,
        NTILE(5) OVER (ORDER BY frequency, customer_id) AS frequency_score,
        NTILE(5) OVER (ORDER BY monetary, customer_id) AS monetary_score
    FROM customer_metrics
)
SELECT
    customer_id,
    last_purchase,
    frequency,
    monetary,
    recency_score,
    frequency_score,
    monetary_score,
    CASE
        WHEN recency_score >= 4 AND frequency_score >= 4 THEN 'Champions'
        WHEN recency_score >= 3 AND frequency_score >= 3 THEN 'Loyal Customers'
        WHEN recency_score >= 3 AND frequency_score <= 2 THEN 'Potential Loyalists'
        WHEN recency_score <= 2 AND frequency_score >= 3 THEN 'At Risk'
        ELSE 'Others'
    END AS customer_segment
FROM scored;
