-- snk_warehouse__rfm: the warehouse's append-only `rfm_log`; the view `rfm_scores` keeps each
-- customer's newest row and scores it (sql/warehouse/V006__design_analyses.sql).
CREATE TABLE snk_warehouse__rfm (
    customer_id STRING,
    last_purchase TIMESTAMP(3),
    frequency BIGINT,
    monetary_usd DECIMAL(18, 2),
    loaded_at TIMESTAMP(3)
) WITH (
${WAREHOUSE_RFM_OPTIONS}
)
