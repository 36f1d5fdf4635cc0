-- int_events__fx_dead_letters: events with an amount in a currency without a rate at their time.
-- grain: one row per such event; upstream: int_events__enriched (fx_missing)
CREATE TEMPORARY VIEW int_events__fx_dead_letters AS
SELECT
    payload,
    'missing_fx_rate' AS reason,
    'currency' AS field,
    CONCAT('no USD rate for ', currency_code, ' at ', CAST(event_time AS STRING)) AS detail,
    received_at,
    event_time AS accounting_time
FROM int_events__enriched
WHERE fx_missing
