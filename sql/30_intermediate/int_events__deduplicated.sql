-- int_events__deduplicated: accepted events deduplicated by event_id, keeping the first to arrive.
-- grain: one row per event_id within the deduplication horizon
-- horizon: CleanStream dedup.horizon.minutes, applied as the job's idle-state TTL; a duplicate
--   that arrives after its original's state expired passes as new
-- event time: event_time. Ordered by arrival (proc_time): the only deduplication Flink keeps
--   append-only, which the lake, the temporal joins and the windows downstream need.
-- upstream: int_events__accepted. The job exposes it as int_events__unique through a plan
--   barrier (events_job.Barrier), so its three readers share one deduplication state.
CREATE TEMPORARY VIEW int_events__deduplicated AS
SELECT
    event_id, event_type, event_time, user_id, customer_id, session_id, page_url, referrer,
    user_agent, device_type, product_id, product_name, category, brand, price, quantity,
    transaction_id, total_amount, currency, payment_method, shipping_country, event_country,
    items_json, payload, received_at
FROM (
    SELECT
        *,
        ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY proc_time ASC) AS arrival_rank
    FROM int_events__accepted
)
WHERE arrival_rank = 1
