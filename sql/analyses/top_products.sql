-- The design's "Top 10 productos más vendidos", on the tables ecomflow fills (revenue in USD).
-- Runs on PostgreSQL and Redshift. :since is the first day counted (the design: 2025-07-01).
SELECT
    p.product_name,
    SUM(t.quantity) AS total_quantity,
    SUM(t.total_amount) AS revenue
FROM transactions AS t
JOIN products AS p ON t.product_id = p.product_id
WHERE t.transaction_date >= %(since)s
GROUP BY p.product_name
ORDER BY revenue DESC, p.product_name
LIMIT 10
