-- int_carts__abandoned: carts with no purchase within Sessions cart.abandon.minutes of their
-- last change.
-- grain: one row per abandoned cart (user, cart opened at first_added_at)
-- event time: none (a sink-only result; the operator emits a cart when the watermark passes
--   its last change plus the timeout)
-- upstream: java_carts__abandoned, the CARTS step of flink_jobs/events_job.py: the Java
--   operator dev.ecomflow.stream.CartAbandonment over int_events__cart_activity (Flink 1.20 SQL
--   cannot emit a timed-out match)
CREATE TEMPORARY VIEW int_carts__abandoned AS
SELECT
    user_id,
    cart_value_usd,
    items,
    first_added_at,
    last_change_at,
    abandoned_at
FROM java_carts__abandoned
