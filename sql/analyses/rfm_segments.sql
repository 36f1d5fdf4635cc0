-- The design's "RFM Analysis": each customer's segment, from the scores the job keeps current.
-- Runs on PostgreSQL and Redshift.
SELECT customer_id, customer_segment
FROM rfm_scores
ORDER BY customer_id
