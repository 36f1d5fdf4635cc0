-- int_events__cart_activity: what changes a user's cart, in the column order CartAbandonment
-- reads: (user_id, event_type, product_id, quantity, price_usd), event time as rowtime.
-- grain: one row per clean add_to_cart, remove_from_cart or purchase with a user
-- upstream: int_events__clean; read by the CARTS barrier (events_job), giving
--   int_carts__abandoned
CREATE TEMPORARY VIEW int_events__cart_activity AS
SELECT user_id, event_type, product_id, quantity, price_usd, event_time
FROM int_events__clean
WHERE user_id IS NOT NULL
    AND event_type IN ('add_to_cart', 'remove_from_cart', 'purchase')
