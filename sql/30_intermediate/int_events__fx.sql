-- int_events__fx: amounts in USD at the rate valid at the event's time (switch: CleanStream enrich.fx).
-- grain: one row per unique event; upstream: int_events__country, src_reference__fx_rates
-- Event-time temporal join: each event meets the rate whose valid_from is the latest at or
-- before its event time. Amounts without a currency are in USD (the shop's base currency). An
-- event with an amount in a currency that has no rate yet is flagged fx_missing and goes to the
-- dead letter (int_events__fx_dead_letters): never a guessed rate.
CREATE TEMPORARY VIEW int_events__fx AS
SELECT
    e.*,
    CASE WHEN e.currency_code = 'USD' THEN CAST(1 AS DECIMAL(18, 8)) ELSE r.rate_to_usd END
        AS fx_rate_to_usd,
    CAST(e.price * CASE WHEN e.currency_code = 'USD' THEN 1 ELSE r.rate_to_usd END
        AS DECIMAL(18, 2)) AS price_usd,
    CAST(e.total_amount * CASE WHEN e.currency_code = 'USD' THEN 1 ELSE r.rate_to_usd END
        AS DECIMAL(18, 2)) AS total_amount_usd,
    (e.price IS NOT NULL OR e.total_amount IS NOT NULL)
        AND e.currency_code <> 'USD' AND r.rate_to_usd IS NULL AS fx_missing
FROM (
    SELECT c.*, UPPER(COALESCE(c.currency, 'USD')) AS currency_code
    FROM int_events__country AS c
) AS e
LEFT JOIN src_reference__fx_rates FOR SYSTEM_TIME AS OF e.event_time AS r
    ON e.currency_code = r.currency
